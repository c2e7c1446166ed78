//! Demo data: a realistic small MSP (5 clients with sites and contacts, 4 technicians,
//! 300 tickets over the last weeks with comments and time), so a first look is never empty.
//! It goes through the same insert functions as real writes, in one transaction.

use crate::clients::{insert_client, insert_contact, insert_site};
use crate::desk::tickets::{
    insert_comment, insert_ticket, insert_time_entry, set_status_at, TicketDraft,
};
use crate::error::{CoreError, CoreResult};
use crate::fleet::assets::{insert_asset, AssetDraft};
use crate::store::{Actor, Core, WriteTx};
use chrono::Duration;
use outpost_proto::{AssetKind, DemoSummary, Priority, Role, TicketStatus};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

pub const DEMO_TICKETS: usize = 300;

/// A client's devices: a server and a firewall at the first site, and per site a printer
/// and a handful of workstations and laptops, named the way MSPs name them.
async fn demo_assets(
    w: &mut WriteTx<'_>,
    client: Uuid,
    client_name: &str,
    sites: &[Uuid],
    rng: &mut StdRng,
) -> CoreResult<i64> {
    let prefix: String = client_name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter_map(|w| w.chars().next())
        .take(3)
        .collect::<String>()
        .to_uppercase();
    let mut made = 0;
    let mut add = |site: Option<Uuid>, name: String, kind: AssetKind, os: &'static str| {
        made += 1;
        let serial = format!(
            "{}{:07}",
            ["CZ", "5CG", "JP", "SN"][made % 4],
            rng.gen_range(0..9_999_999)
        );
        (site, name, kind, os, serial)
    };
    let mut list = vec![
        add(
            sites.first().copied(),
            format!("{prefix}-SRV-01"),
            AssetKind::Server,
            "Windows Server 2022",
        ),
        add(
            sites.first().copied(),
            format!("{prefix}-FW-01"),
            AssetKind::Network,
            "FortiOS 7.4",
        ),
    ];
    for (s, site) in sites.iter().enumerate() {
        list.push(add(
            Some(*site),
            format!("{prefix}-PRN-{:02}", s + 1),
            AssetKind::Printer,
            "HP FutureSmart 5",
        ));
        for n in 1..=4 {
            let (kind, os) = if n % 2 == 0 {
                (AssetKind::Laptop, "Windows 11 Pro 23H2")
            } else {
                (AssetKind::Workstation, "Windows 11 Pro 24H2")
            };
            list.push(add(
                Some(*site),
                format!(
                    "{prefix}-{}{:02}",
                    if n % 2 == 0 { "LT" } else { "WS" },
                    s * 10 + n
                ),
                kind,
                os,
            ));
        }
    }
    for (site, name, kind, os, serial) in &list {
        let draft = AssetDraft {
            client_id: client,
            site_id: *site,
            name,
            kind: *kind,
            os,
            serial,
            notes: "",
        };
        insert_asset(w, &draft).await?;
    }
    Ok(list.len() as i64)
}

/// A demo client with its site ids and (contact id, contact name) pairs.
type DemoPlace = (Uuid, Vec<Uuid>, Vec<(Uuid, &'static str)>);

struct DemoClient {
    name: &'static str,
    notes: &'static str,
    sites: &'static [(&'static str, &'static str, &'static str)],
    contacts: &'static [(&'static str, &'static str)],
}

const CLIENTS: &[DemoClient] = &[
    DemoClient {
        name: "Harbor Dental Group",
        notes: "3 practices. Imaging PCs must never reboot during opening hours (8-18).",
        sites: &[
            (
                "Harbor Street Practice",
                "12 Harbor St, Portsmouth",
                "Europe/London",
            ),
            (
                "Westgate Practice",
                "4 Westgate Rd, Southampton",
                "Europe/London",
            ),
        ],
        contacts: &[
            ("Dr. Helen Marsh", "helen.marsh"),
            ("Tom Reyes", "tom.reyes"),
        ],
    },
    DemoClient {
        name: "Brightline Logistics",
        notes: "Warehouse scanners on a separate VLAN. After-hours support contract.",
        sites: &[
            ("Head Office", "88 Quay Road, Bristol", "Europe/London"),
            (
                "Avonmouth Depot",
                "Unit 7, Avonmouth Way, Bristol",
                "Europe/London",
            ),
            ("Swindon Hub", "2 Rail Park, Swindon", "Europe/London"),
        ],
        contacts: &[
            ("Grace Whitfield", "grace.whitfield"),
            ("Marcus Bell", "marcus.bell"),
            ("Ola Nowak", "ola.nowak"),
        ],
    },
    DemoClient {
        name: "Maple & Finch Law",
        notes: "Document management: iManage. Partners' laptops encrypted; no USB storage.",
        sites: &[("Chambers", "1 Temple Court, London", "Europe/London")],
        contacts: &[
            ("Eleanor Finch", "eleanor.finch"),
            ("David Osei", "david.osei"),
        ],
    },
    DemoClient {
        name: "Northwind Architects",
        notes: "Heavy CAD workstations; Revit licences renew in March.",
        sites: &[
            ("Studio", "40 Mill Lane, Manchester", "Europe/London"),
            ("Leeds Office", "9 Canal Wharf, Leeds", "Europe/London"),
        ],
        contacts: &[
            ("Priyanka Shah", "priyanka.shah"),
            ("Liam Carter", "liam.carter"),
        ],
    },
    DemoClient {
        name: "Sunrise Veterinary Clinics",
        notes: "Practice software: VetManager on the on-site server. Clinics open Saturdays.",
        sites: &[
            ("Riverside Clinic", "21 River Walk, York", "Europe/London"),
            (
                "Hillcrest Clinic",
                "3 Hill Crescent, Harrogate",
                "Europe/London",
            ),
        ],
        contacts: &[
            ("Sophie Turner", "sophie.turner"),
            ("Raj Patel", "raj.patel"),
            ("Anna Kowalski", "anna.kowalski"),
        ],
    },
];

const TECHNICIANS: &[(&str, &str)] = &[
    ("alex.kim", "Alex Kim"),
    ("priya.n", "Priya Natarajan"),
    ("sam.okafor", "Sam Okafor"),
    ("jordan.lee", "Jordan Lee"),
];

const PROBLEMS: &[(&str, &str, &str)] = &[
    ("Outlook keeps asking for password", "Since this morning Outlook prompts for the password every few minutes. Webmail works.", "email"),
    ("Printer on first floor shows offline", "The HP LaserJet by reception shows offline on every PC. It was power-cycled; no change.", "printing"),
    ("New starter: laptop and accounts", "New colleague starts Monday. Needs laptop, M365 licence, shared drive access and door fob.", "onboarding"),
    ("VPN drops every few minutes", "Home workers lose the VPN connection every 5-10 minutes, mostly on Wi-Fi.", "network"),
    ("Backup job failed overnight", "Nightly backup of the file server reported failure: snapshot could not be created.", "backup"),
    ("Disk almost full on file server", "Drive D: on the file server is at 94 %. Users report saving is slow.", "storage"),
    ("Suspicious email reported", "Staff received an invoice email with a link to a fake Microsoft login page. Two clicked it.", "security"),
    ("Wi-Fi slow in meeting room", "Video calls in the big meeting room freeze; speed test shows 3 Mbit/s.", "network"),
    ("UPS battery warning", "The UPS in the comms cupboard beeps and shows 'replace battery'.", "hardware"),
    ("Teams calls have echo", "Callers hear themselves on Teams calls from the conference speakerphone.", "m365"),
    ("Reset MFA for user", "User got a new phone and cannot approve sign-ins any more.", "m365"),
    ("Scan to email not working", "The copier's scan-to-email fails with an SMTP authentication error.", "printing"),
    ("Accounting software will not open company file", "Sage reports the company file is locked by another user, but nobody has it open.", "apps"),
    ("Firewall firmware update", "Vendor advisory: critical firmware fix for the firewall. Schedule an update out of hours.", "security"),
    ("Shared drive permissions", "Team needs read/write on the Projects share; currently read-only.", "access"),
    ("Laptop will not boot", "Laptop shows a blue screen 'INACCESSIBLE_BOOT_DEVICE' after an update.", "hardware"),
    ("Leaver: disable accounts", "Colleague leaves Friday. Disable accounts, forward mail to manager, collect laptop.", "offboarding"),
    ("Phone system voicemail to email", "Voicemails no longer arrive as email attachments since the weekend.", "telephony"),
    ("Server running hot", "Temperature alarm on the host server: inlet 31 °C. Aircon in server room may be off.", "hardware"),
    ("Request: second monitor", "Please order and set up a second 27\" monitor for the finance desk.", "request"),
];

const REPLIES: &[&str] = &[
    "Thanks for reporting this. I'm looking into it now.",
    "Could you send a screenshot of the error, please?",
    "I've connected remotely and can reproduce the problem.",
    "Applied the fix; please test and let me know.",
    "Checked the logs: this started after last night's update.",
    "Ordered the replacement part, ETA two working days.",
    "Confirmed working with the user. Closing this one.",
];

const NOTES: &[&str] = &[
    "Cached credentials were stale; cleared the Credential Manager entries.",
    "Vendor case opened, reference in the ticket.",
    "Needs a site visit; booked for tomorrow morning.",
    "Related to the switch firmware issue from last month.",
];

impl Core {
    /// Loads the demo MSP. Only into an empty store, so it never mixes with real data.
    pub async fn load_demo(&self, actor: &Actor) -> CoreResult<DemoSummary> {
        actor.require_admin()?;
        if !self.store_is_empty().await? {
            return Err(CoreError::Conflict(
                "demo data can only be loaded into an empty store (no clients or tickets yet)"
                    .into(),
            ));
        }
        let mut techs: Vec<Uuid> = Vec::new();
        for (username, name) in TECHNICIANS {
            let existing: Option<String> =
                sqlx::query_scalar("SELECT id FROM users WHERE username = ?")
                    .bind(username)
                    .fetch_optional(&self.pool)
                    .await?;
            let id = match existing {
                Some(id) => crate::store::parse_uuid(&id)?,
                // Demo colleagues are assignees only: no password, so nobody can log in as them.
                None => {
                    self.insert_user_row(actor, username, name, Role::Technician, None)
                        .await?
                        .id
                }
            };
            techs.push(id);
        }
        if let Some(me) = actor.user_id {
            techs.push(me);
        }

        let mut rng = StdRng::seed_from_u64(1042);
        let mut w = self.write(actor).await?;
        let engine = crate::desk::sla::engine_in(&mut w).await?;
        let now = w.now;
        let mut summary = DemoSummary {
            clients: 0,
            tickets: 0,
            comments: 0,
            time_entries: 0,
            assets: 0,
        };
        let mut places: Vec<DemoPlace> = Vec::new();
        for c in CLIENTS {
            let client = insert_client(&mut w, c.name, c.notes).await?;
            summary.clients += 1;
            let mut sites = Vec::new();
            for (name, address, tz) in c.sites {
                sites.push(insert_site(&mut w, client, name, address, tz).await?);
            }
            let domain: String = c
                .name
                .to_lowercase()
                .chars()
                .filter(|ch| ch.is_ascii_alphanumeric())
                .take(14)
                .collect();
            let mut contacts = Vec::new();
            for (i, (name, mailbox)) in c.contacts.iter().enumerate() {
                let site = sites.get(i % sites.len()).copied();
                let email = format!("{mailbox}@{domain}.example");
                let phone = format!(
                    "+44 20 7946 {:04}",
                    100 + i * 37 + summary.clients as usize * 211
                );
                let id = insert_contact(&mut w, client, site, name, &email, &phone).await?;
                contacts.push((id, *name));
            }
            summary.assets += demo_assets(&mut w, client, c.name, &sites, &mut rng).await?;
            places.push((client, sites, contacts));
        }

        // Statuses first, then an age that fits each: finished work spreads over six weeks,
        // open work is days old at most. Oldest first, so ticket numbers follow creation time.
        let mut plan: Vec<(i64, TicketStatus)> = (0..DEMO_TICKETS)
            .map(|_| {
                let status = match rng.gen_range(0..100) {
                    r if r < 38 => TicketStatus::Closed,
                    r if r < 55 => TicketStatus::Resolved,
                    r if r < 63 => TicketStatus::New,
                    r if r < 76 => TicketStatus::Open,
                    r if r < 90 => TicketStatus::InProgress,
                    _ => TicketStatus::WaitingOnClient,
                };
                let age = match status {
                    TicketStatus::Closed => rng.gen_range(4 * 1440..45 * 1440),
                    TicketStatus::Resolved => rng.gen_range(1440..10 * 1440),
                    TicketStatus::New => rng.gen_range(5..6 * 60),
                    // Most open work is from today or yesterday; a few tickets have slipped.
                    _ if rng.gen_bool(0.8) => rng.gen_range(30..30 * 60),
                    _ => rng.gen_range(30 * 60..5 * 1440),
                };
                (age, status)
            })
            .collect();
        plan.sort_by_key(|p| std::cmp::Reverse(p.0));
        for (age_minutes, status) in plan {
            let (client, sites, contacts) = places.choose(&mut rng).expect("demo clients");
            let (problem, detail, tag) = PROBLEMS.choose(&mut rng).expect("demo problems");
            let contact = contacts.choose(&mut rng).expect("demo contacts");
            let created = now - Duration::minutes(age_minutes);
            let priority = *[
                Priority::Low,
                Priority::Normal,
                Priority::Normal,
                Priority::Normal,
                Priority::High,
                Priority::High,
                Priority::Critical,
            ]
            .choose(&mut rng)
            .expect("priorities");
            let assignee = (status != TicketStatus::New || rng.gen_bool(0.3))
                .then(|| *techs.choose(&mut rng).expect("techs"));
            let draft = TicketDraft {
                title: format!("{problem} ({})", contact.1),
                description: detail.to_string(),
                priority,
                client_id: *client,
                site_id: sites.choose(&mut rng).copied(),
                contact_id: Some(contact.0),
                assignee_id: assignee,
                tags: vec![tag.to_string()],
            };
            let (id, _) = insert_ticket(&mut w, &engine, &draft, created).await?;
            summary.tickets += 1;

            // Replies come quickly at first (most first responses are within target).
            let step = Duration::minutes((age_minutes / 8).clamp(1, 90));
            let mut at = created;
            let replies = if status == TicketStatus::New {
                0
            } else {
                rng.gen_range(1..=4)
            };
            for r in 0..replies {
                at += step;
                let author = assignee.unwrap_or(techs[0]);
                let internal = r > 0 && rng.gen_bool(0.3);
                let text = if internal {
                    NOTES.choose(&mut rng).expect("notes")
                } else {
                    REPLIES.choose(&mut rng).expect("replies")
                };
                insert_comment(&mut w, &engine, id, author, text, internal, at).await?;
                summary.comments += 1;
                if rng.gen_bool(0.6) {
                    let minutes = *[10, 15, 20, 30, 45, 60, 90].choose(&mut rng).expect("mins");
                    let note = if rng.gen_bool(0.5) {
                        "Remote session"
                    } else {
                        "Investigation"
                    };
                    insert_time_entry(&mut w, id, author, at, minutes, rng.gen_bool(0.8), note)
                        .await?;
                    summary.time_entries += 1;
                }
            }
            if status != TicketStatus::New {
                at += step;
                if status == TicketStatus::Closed {
                    set_status_at(&mut w, &engine, id, TicketStatus::Resolved, at).await?;
                    at += step;
                }
                set_status_at(&mut w, &engine, id, status, at.min(now)).await?;
            }
        }
        w.commit().await?;
        Ok(summary)
    }
}
