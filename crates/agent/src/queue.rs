//! The agent's on-disk queue: every heartbeat and inventory change is numbered and written
//! here first, sent when connected, and forgotten once the gateway acknowledges it. While
//! the server is unreachable it grows, bounded by count and age; the oldest are dropped
//! first and counted (the count travels in the next hello).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

#[derive(Serialize, Deserialize, Clone)]
pub struct Entry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// The message as sent (JSON).
    pub message: String,
}

#[derive(Serialize, Deserialize, Default)]
struct Counters {
    next_seq: u64,
    acked: u64,
    dropped: u64,
}

pub struct Queue {
    dir: PathBuf,
    entries: VecDeque<Entry>,
    counters: Counters,
    max_entries: usize,
    max_age: Duration,
    /// Lines in the file that are acknowledged (the file is rewritten when they pile up).
    stale_lines: usize,
}

const FILE: &str = "queue.jsonl";
const COUNTERS: &str = "queue.json";

impl Queue {
    pub fn open(dir: &Path, max_entries: usize, max_age: Duration) -> anyhow::Result<Queue> {
        let q = Queue::read(dir, max_entries, max_age);
        q.save_counters()?;
        Ok(q)
    }

    /// The queue as it stands on disk, changing nothing (for `status` beside a running agent).
    pub fn read(dir: &Path, max_entries: usize, max_age: Duration) -> Queue {
        let counters: Counters = std::fs::read(dir.join(COUNTERS))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let mut entries = VecDeque::new();
        let mut stale_lines = 0;
        if let Ok(f) = File::open(dir.join(FILE)) {
            for line in BufReader::new(f).lines() {
                let Ok(line) = line else { break };
                // A line cut short by a crash is the last one; skip it.
                match serde_json::from_str::<Entry>(&line) {
                    Ok(e) if e.seq > counters.acked => entries.push_back(e),
                    _ => stale_lines += 1,
                }
            }
        }
        let mut q = Queue {
            dir: dir.to_path_buf(),
            entries,
            counters,
            max_entries,
            max_age,
            stale_lines,
        };
        let top = q.entries.back().map_or(0, |e| e.seq);
        q.counters.next_seq = q.counters.next_seq.max(top + 1).max(q.counters.acked + 1);
        q
    }

    fn save_counters(&self) -> anyhow::Result<()> {
        let tmp = self.dir.join("queue.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(&self.counters)?)?;
        std::fs::rename(tmp, self.dir.join(COUNTERS))?;
        Ok(())
    }

    /// The number the next message gets.
    pub fn take_seq(&mut self) -> anyhow::Result<u64> {
        let seq = self.counters.next_seq;
        self.counters.next_seq += 1;
        self.save_counters()?;
        Ok(seq)
    }

    pub fn push(&mut self, seq: u64, message: String) -> anyhow::Result<()> {
        let e = Entry {
            seq,
            at: Utc::now(),
            message,
        };
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(FILE))?;
        writeln!(f, "{}", serde_json::to_string(&e)?)?;
        self.entries.push_back(e);
        self.bound()?;
        Ok(())
    }

    /// Drops the oldest beyond the count, and what is older than the age limit.
    fn bound(&mut self) -> anyhow::Result<()> {
        let cutoff = Utc::now() - self.max_age;
        let mut dropped = 0;
        while self.entries.len() > self.max_entries
            || self.entries.front().is_some_and(|e| e.at < cutoff)
        {
            if let Some(e) = self.entries.pop_front() {
                self.counters.acked = self.counters.acked.max(e.seq);
                dropped += 1;
            }
        }
        if dropped > 0 {
            self.counters.dropped += dropped;
            self.stale_lines += dropped as usize;
            self.save_counters()?;
            self.compact_if_needed()?;
        }
        Ok(())
    }

    /// Everything up to `seq` is stored by the gateway.
    pub fn ack(&mut self, seq: u64) -> anyhow::Result<()> {
        let mut n = 0;
        while self.entries.front().is_some_and(|e| e.seq <= seq) {
            self.entries.pop_front();
            n += 1;
        }
        if seq > self.counters.acked {
            self.counters.acked = seq;
            self.save_counters()?;
        }
        self.stale_lines += n;
        self.compact_if_needed()
    }

    /// Forgets one message the gateway refused (it would be refused again); the ones before
    /// it stay until they are acknowledged.
    pub fn forget(&mut self, seq: u64) -> anyhow::Result<()> {
        if self.entries.front().is_some_and(|e| e.seq == seq) {
            return self.ack(seq);
        }
        let before = self.entries.len();
        self.entries.retain(|e| e.seq != seq);
        self.stale_lines += before - self.entries.len();
        self.compact_if_needed()
    }

    fn compact_if_needed(&mut self) -> anyhow::Result<()> {
        if self.stale_lines < 500 && !(self.entries.is_empty() && self.stale_lines > 0) {
            return Ok(());
        }
        let tmp = self.dir.join("queue.jsonl.tmp");
        let mut f = File::create(&tmp)?;
        for e in &self.entries {
            writeln!(f, "{}", serde_json::to_string(e)?)?;
        }
        f.sync_all()?;
        std::fs::rename(tmp, self.dir.join(FILE))?;
        self.stale_lines = 0;
        Ok(())
    }

    /// Entries not yet acknowledged, oldest first, after `after`.
    pub fn after(&self, after: u64) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.seq > after)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn dropped(&self) -> u64 {
        self.counters.dropped
    }

    pub fn acked(&self) -> u64 {
        self.counters.acked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_a_restart_until_acknowledged_and_the_oldest_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Queue::open(dir.path(), 3, Duration::days(7)).unwrap();
        for i in 0..5 {
            let s = q.take_seq().unwrap();
            q.push(s, format!("m{i}")).unwrap();
        }
        assert_eq!(q.len(), 3);
        assert_eq!(q.dropped(), 2);
        q.ack(3).unwrap();
        drop(q);
        let q = Queue::open(dir.path(), 3, Duration::days(7)).unwrap();
        let left: Vec<u64> = q.after(0).map(|e| e.seq).collect();
        assert_eq!(left, vec![4, 5]);
        assert_eq!(q.dropped(), 2);
        let mut q = q;
        assert_eq!(q.take_seq().unwrap(), 6, "numbers never repeat");
    }

    #[test]
    fn a_refused_message_is_forgotten_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Queue::open(dir.path(), 100, Duration::days(7)).unwrap();
        for i in 0..4 {
            let s = q.take_seq().unwrap();
            q.push(s, format!("m{i}")).unwrap();
        }
        q.forget(3).unwrap();
        let left: Vec<u64> = q.after(0).map(|e| e.seq).collect();
        assert_eq!(
            left,
            vec![1, 2, 4],
            "the earlier ones wait for their acknowledgement"
        );
        q.forget(1).unwrap();
        assert_eq!(q.acked(), 1);
        assert_eq!(q.after(0).map(|e| e.seq).collect::<Vec<_>>(), vec![2, 4]);
    }
}
