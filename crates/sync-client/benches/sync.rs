//! Sync over loopback HTTP against the real server router: a new console's initial sync
//! (snapshot, then the log) of 100,000 tickets and 10,000 assets, then 1,000 offline edits
//! pushed and pulled back. Prints figures; does not fail on them.

use outpost_core::{Actor, Core, SystemClock};
use outpost_proto::{FirstAdminRequest, LoginRequest, TicketQuery, UpdateTicket};
use outpost_sync_client::{server_login, HttpTransport};
use std::sync::Arc;
use std::time::Instant;

const TICKETS: i64 = 100_000;
const ASSETS: i64 = 10_000;

/// Bulk rows plus the change records real writes would have logged for them.
async fn generate(core: &Core) {
    let replica = core.replica_id().simple().to_string();
    let now = chrono::Utc::now().timestamp_millis();
    let mut tx = core.pool().begin().await.unwrap();
    for sql in [
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) \
             INSERT INTO clients (id, name, notes, created_at, updated_at) \
             SELECT printf('00000000-0000-7000-8000-%012d', i), 'Client ' || i, '', {now}, {now} FROM n"
        ),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {TICKETS}) \
             INSERT INTO tickets (id, number, title, description, status, priority, priority_rank, \
               client_id, created_at, updated_at, next_due) \
             SELECT printf('00000000-0000-7000-a000-%012d', i), 1000 + i, 'Ticket ' || i, \
               'Generated for the sync benchmark', CASE i % 3 WHEN 0 THEN 'closed' ELSE 'open' END, \
               'normal', 2, printf('00000000-0000-7000-8000-%012d', 1 + i % 50), \
               {now} - i * 60000, {now} - i * 60000, {}
             FROM n",
            outpost_core::desk::sla::NO_DEADLINE
        ),
        format!(
            "INSERT INTO changes (change_id, replica_id, replica_seq, hlc, entity, entity_id, op, fields, base) \
             SELECT printf('00000000-0000-7000-c000-%012d', rid), (SELECT replica_id FROM replica), \
               (SELECT coalesce(max(replica_seq), 0) FROM changes) + rid, \
               printf('%015d-%010d-%s', created_at, 0, '{replica}'), 'client', id, 'insert', \
               json_object('name', name, 'notes', notes), '{{}}' \
             FROM (SELECT rowid AS rid, * FROM clients)"
        ),
        format!(
            "INSERT INTO changes (change_id, replica_id, replica_seq, hlc, entity, entity_id, op, fields, base) \
             SELECT printf('00000000-0000-7000-d000-%012d', rid), (SELECT replica_id FROM replica), \
               (SELECT coalesce(max(replica_seq), 0) FROM changes) + rid, \
               printf('%015d-%010d-%s', created_at, 0, '{replica}'), 'ticket', id, 'insert', \
               json_object('number', number, 'title', title, 'description', description, \
                 'status', status, 'priority', priority, 'client_id', client_id, \
                 'created_at', created_at, 'tags', json('[]')), '{{}}' \
             FROM (SELECT rid, * FROM tickets) ORDER BY rid"
        ),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ASSETS}) \
             INSERT INTO assets (id, client_id, name, kind, os, serial, notes, created_at, updated_at) \
             SELECT printf('00000000-0000-7000-b000-%012d', i), printf('00000000-0000-7000-8000-%012d', 1 + i % 50), \
               printf('HOST-%05d', i), CASE i % 5 WHEN 0 THEN 'server' WHEN 1 THEN 'laptop' ELSE 'workstation' END, \
               'Windows 11 Pro 24H2', printf('SN%08d', i), '', {now} - i * 1000, {now} - i * 1000 FROM n"
        ),
        format!(
            "INSERT INTO changes (change_id, replica_id, replica_seq, hlc, entity, entity_id, op, fields, base) \
             SELECT printf('00000000-0000-7000-e000-%012d', rid), (SELECT replica_id FROM replica), \
               (SELECT coalesce(max(replica_seq), 0) FROM changes) + rid, \
               printf('%015d-%010d-%s', created_at, 0, '{replica}'), 'asset', id, 'insert', \
               json_object('client_id', client_id, 'site_id', site_id, 'name', name, 'kind', kind, \
                 'os', os, 'serial', serial, 'notes', notes), '{{}}' \
             FROM (SELECT rowid AS rid, * FROM assets) ORDER BY rid"
        ),
        // The field versions real writes keep beside each record.
        "INSERT INTO record_clocks (entity, entity_id, clocks) \
         SELECT c.entity, c.entity_id, json_object(c.hlc || '/' || c.change_id, \
           (SELECT json_group_array(f.key) FROM json_each(c.fields) f)) \
         FROM changes c WHERE c.entity IN ('client', 'ticket', 'asset') ON CONFLICT DO NOTHING"
            .to_string(),
    ] {
        sqlx::query(&sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// Serves stored snapshot pages (diagnostics only).
struct Replay {
    pages: Vec<outpost_proto::SnapshotPage>,
    checks: Vec<outpost_proto::EntityChecksum>,
}

impl outpost_core::sync::SyncTransport for Replay {
    async fn push(
        &self,
        _: &outpost_proto::PushRequest,
    ) -> Result<outpost_proto::PushResponse, outpost_core::sync::TransportError> {
        unreachable!("nothing to push")
    }
    async fn pull(
        &self,
        after: i64,
        _: i64,
    ) -> Result<outpost_proto::PullPage, outpost_core::sync::TransportError> {
        Ok(outpost_proto::PullPage {
            changes: vec![],
            next_cursor: after,
            has_more: false,
            latest: after,
            scope: None,
            log_epoch: None,
            epoch_starts_after: None,
        })
    }
    async fn pull_entity(
        &self,
        _: &str,
        after: i64,
        l: i64,
    ) -> Result<outpost_proto::PullPage, outpost_core::sync::TransportError> {
        self.pull(after, l).await
    }
    async fn checksums(
        &self,
    ) -> Result<Vec<outpost_proto::EntityChecksum>, outpost_core::sync::TransportError> {
        Ok(self.checks.clone())
    }
    async fn snapshot(
        &self,
        entity: &str,
        after: Option<uuid::Uuid>,
        _: i64,
    ) -> Result<outpost_proto::SnapshotPage, outpost_core::sync::TransportError> {
        let mut last = None;
        for p in self.pages.iter().filter(|p| p.entity == entity) {
            if last == after {
                return Ok(p.clone());
            }
            last = p.records.last().map(|r| r.id);
        }
        Err(outpost_core::sync::TransportError::Other(format!(
            "no stored page of {entity} after {after:?}"
        )))
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server_dir = tempfile::tempdir().unwrap();
        let console_dir = tempfile::tempdir().unwrap();
        let server = Core::open_dir(server_dir.path(), Arc::new(SystemClock)).await.unwrap();
        server
            .create_first_admin(FirstAdminRequest {
                username: "bench".into(),
                display_name: "Bench".into(),
                password: "bench-pass".into(),
                load_demo: false,
            })
            .await
            .unwrap();
        let t = Instant::now();
        generate(&server).await;
        // Settle the generator's write-ahead log first: measure sync, not the checkpoint of
        // 100 MB of setup writes.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(server.pool()).await.unwrap();
        println!("server store: {TICKETS} tickets and {ASSETS} assets with their change records in {:.1} s", t.elapsed().as_secs_f64());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = outpost_server::AppState::new(Arc::new(server));
        tokio::spawn(async move { axum::serve(listener, outpost_server::app(state, None)).await });

        let session = server_login(&url, None, &LoginRequest { username: "bench".into(), password: "bench-pass".into() })
            .await
            .unwrap();
        let console = Core::open_dir(console_dir.path(), Arc::new(SystemClock)).await.unwrap();
        let link = HttpTransport::new(&url, &session.token, None).unwrap();
        if std::env::var_os("OUTPOST_BENCH_DIAG").is_some() {
            use outpost_core::sync::SyncTransport;
            // Every snapshot page fetched first, then applied by a console from memory: the
            // console's share of a first sync, without the server's or the network's.
            let t = Instant::now();
            let mut pages = Vec::new();
            for entity in outpost_core::records::snapshot_order() {
                let mut after = None;
                loop {
                    let p = link.snapshot(entity, after, 1000).await.unwrap();
                    after = p.records.last().map(|r| r.id);
                    let more = p.has_more;
                    pages.push(p);
                    if !more {
                        break;
                    }
                }
            }
            println!("  diag: whole snapshot over HTTP: {:.1} s", t.elapsed().as_secs_f64());
            let checks = link.checksums().await.unwrap();
            let memory = Replay { pages, checks };
            let scratch = tempfile::tempdir().unwrap();
            let other = Core::open_dir(scratch.path(), Arc::new(SystemClock)).await.unwrap();
            other.set_server(Some("http://127.0.0.1:9")).await.unwrap();
            let t = Instant::now();
            other.sync_once(&memory, 1000).await.unwrap();
            println!("  diag: applying it (and checksums): {:.1} s", t.elapsed().as_secs_f64());
            let t = Instant::now();
            let mut after = None;
            let mut n = 0;
            loop {
                let p = link.snapshot("ticket", after, 1000).await.unwrap();
                n += p.records.len();
                after = p.records.last().map(|r| r.id);
                if !p.has_more {
                    break;
                }
            }
            println!("  diag: {n} ticket snapshot records over HTTP: {:.1} s", t.elapsed().as_secs_f64());
            let t = Instant::now();
            let checks = link.checksums().await.unwrap();
            println!("  diag: server checksums over HTTP: {:.1} s ({} types)", t.elapsed().as_secs_f64(), checks.len());
            let t = Instant::now();
            let mut after = 0;
            let mut pages = Vec::new();
            loop {
                let p = link.pull(after, 1000).await.unwrap();
                after = p.next_cursor;
                let more = p.has_more;
                pages.push(p);
                if !more {
                    break;
                }
            }
            println!("  diag: pulling every page over HTTP: {:.1} s", t.elapsed().as_secs_f64());
            let scratch = tempfile::tempdir().unwrap();
            let other = Core::open_dir(scratch.path(), Arc::new(SystemClock)).await.unwrap();
            let t = Instant::now();
            for p in &pages {
                other.apply_pull(p).await.unwrap();
            }
            println!("  diag: applying them: {:.1} s", t.elapsed().as_secs_f64());
        }
        let t = Instant::now();
        let r = console.sync_once(&link, 1000).await.unwrap();
        let initial = t.elapsed().as_secs_f64();
        let system = Actor::system();
        let have = console.list_tickets(&system, &TicketQuery { limit: Some(1), ..Default::default() }).await.unwrap().total;
        assert_eq!(have, TICKETS);
        let assets = console.list_assets(&system, &outpost_proto::AssetQuery { limit: Some(1), ..Default::default() }).await.unwrap().total;
        assert_eq!(assets, ASSETS);
        println!(
            "initial sync of {TICKETS} tickets + {ASSETS} assets ({} records and changes) over loopback: {initial:.1} s  target <= 15 s  {}",
            r.pulled,
            if initial <= 15.0 { "OK" } else { "OVER" }
        );

        // A console that has been running a while has checkpointed its first sync long ago.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(console.pool()).await.unwrap();
        let me = Actor { user_id: Some(session.user.id), name: "Bench".into(), role: outpost_proto::Role::Admin, clients: None };
        for i in 0..1000 {
            let id = uuid::Uuid::parse_str(&format!("00000000-0000-7000-a000-{:012}", 1 + i * 3)).unwrap();
            console
                .update_ticket(&me, id, UpdateTicket { title: Some(format!("Edited offline {i}")), ..Default::default() })
                .await
                .unwrap();
        }
        if std::env::var_os("OUTPOST_BENCH_DIAG").is_some() {
            use outpost_core::sync::SyncTransport;
            let pending = console.pending_changes(1000).await.unwrap();
            let req = outpost_proto::PushRequest { replica_id: console.replica_id(), changes: pending };
            let t = Instant::now();
            link.push(&req).await.unwrap();
            println!("  diag: push of 1000 over HTTP incl. server apply: {:.0} ms", t.elapsed().as_secs_f64() * 1000.0);
            let t = Instant::now();
            let p = link.pull(0, 1000).await.unwrap();
            println!("  diag: pull of one 1000-change page: {:.0} ms", t.elapsed().as_secs_f64() * 1000.0);
            let t = Instant::now();
            let scratch = tempfile::tempdir().unwrap();
            let other = Core::open_dir(scratch.path(), Arc::new(SystemClock)).await.unwrap();
            println!("  diag: open a store: {:.0} ms", t.elapsed().as_secs_f64() * 1000.0);
            let t = Instant::now();
            other.apply_pull(&p).await.unwrap();
            println!("  diag: apply a 1000-create page: {:.0} ms", t.elapsed().as_secs_f64() * 1000.0);
            return;
        }
        let t = Instant::now();
        let r = console.sync_once(&link, 1000).await.unwrap();
        let round = t.elapsed().as_secs_f64() * 1000.0;
        println!(
            "push + pull of {} offline changes: {round:.0} ms  target <= 300 ms  {}",
            r.pushed,
            if round <= 300.0 { "OK" } else { "OVER" }
        );
    });
}
