// Generated from crates/proto by `cargo xtask gen`. Do not edit by hand.

export type JsonValue = number | string | boolean | null | Array<JsonValue> | { [key in string]?: JsonValue };

export type ApiError = { 
/**
 * Machine-readable: `validation`, `not_found`, `conflict`, `unauthorized`, `forbidden`,
 * `rate_limited`, `internal`.
 */
code: string, 
/**
 * What was wrong and what to do, for a person.
 */
message: string, 
/**
 * With `sync_gap`: the change number the server expects next from this replica.
 */
expected_seq?: number, };

export type Health = { status: string, version: string, };

export type Role = "admin" | "technician" | "viewer";

export type User = { id: string, username: string, display_name: string, role: Role, 
/**
 * False for people who are only assignees (demo staff, invited users) and cannot log in.
 */
can_log_in: boolean, 
/**
 * The clients this person may see; None: every client (always so for admins).
 */
clients: Array<string> | null, };

export type LoginRequest = { username: string, password: string, };

export type Session = { 
/**
 * Bearer token: send as `Authorization: Bearer <token>`.
 */
token: string, expires_at: string, user: User, };

export type SetupState = { needs_admin: boolean, 
/**
 * True when the store holds no clients and no tickets, so demo data may be loaded.
 */
store_empty: boolean, };

export type FirstAdminRequest = { username: string, display_name: string, password: string, 
/**
 * Load the demo MSP (5 clients, 300 tickets) right after creating the admin.
 */
load_demo: boolean, };

export type NewUser = { username: string, display_name: string, role: Role, password: string, };

export type Client = { id: string, name: string, notes: string, open_tickets: number, created_at: string, updated_at: string, };

export type NewClient = { name: string, notes?: string, };

export type UpdateClient = { name?: string, notes?: string, };

export type Site = { id: string, client_id: string, name: string, address: string, 
/**
 * IANA time zone of the site, e.g. `Europe/Berlin`.
 */
timezone: string, };

export type NewSite = { name: string, address?: string, timezone?: string, };

export type UpdateSite = { name?: string, address?: string, timezone?: string, };

export type UpdateContact = { name?: string, site_id?: string | null, email?: string, phone?: string, };

export type Contact = { id: string, client_id: string, site_id: string | null, name: string, email: string, phone: string, };

export type NewContact = { name: string, site_id?: string, email?: string, phone?: string, };

export type ClientDetail = { client: Client, sites: Array<Site>, contacts: Array<Contact>, };

export type TicketStatus = "new" | "open" | "in_progress" | "waiting_on_client" | "resolved" | "closed";

export type Priority = "low" | "normal" | "high" | "critical";

export type SlaState = "none" | "on_track" | "at_risk" | "breached" | "paused" | "met";

export type TicketSla = { state: SlaState, first_response_due: string | null, resolution_due: string | null, first_response_at: string | null, };

export type Ticket = { id: string, 
/**
 * Per-organisation number shown to people: #1042.
 */
number: number, title: string, description: string, status: TicketStatus, priority: Priority, client_id: string, client_name: string, site_id: string | null, contact_id: string | null, assignee_id: string | null, assignee_name: string | null, tags: Array<string>, sla: TicketSla, total_minutes: number, billable_minutes: number, created_at: string, updated_at: string, resolved_at: string | null, };

export type NewTicket = { title: string, client_id: string, priority?: Priority, description?: string, site_id?: string, contact_id?: string, assignee_id?: string, tags?: Array<string>, };

export type UpdateTicket = { title?: string, description?: string, status?: TicketStatus, priority?: Priority, assignee_id?: string | null, site_id?: string | null, contact_id?: string | null, tags?: Array<string>, };

export type TicketSort = "sla_due" | "updated" | "created" | "priority" | "number";

export type TicketQuery = { 
/**
 * Full-text search over titles, descriptions and comments.
 */
q?: string, 
/**
 * Comma-separated statuses; `active` means every status but resolved and closed.
 */
status?: string, 
/**
 * Comma-separated priorities.
 */
priority?: string, client_id?: string, 
/**
 * A user id, `me`, or `none` for unassigned tickets.
 */
assignee?: string, tag?: string, 
/**
 * Comma-separated SLA states.
 */
sla?: string, 
/**
 * Only tickets whose next SLA target falls before the end of today (UTC).
 */
due_today?: boolean, 
/**
 * Only tickets opened on this day (`YYYY-MM-DD`, the organisation's time zone).
 */
opened_on?: string, sort?: TicketSort, 
/**
 * Reverse the sort's natural order (natural: most urgent, newest or highest first).
 */
reverse?: boolean, 
/**
 * Page size, 1..=500 (default 50).
 */
limit?: number, offset?: number, };

export type TicketPage = { items: Array<Ticket>, total: number, };

export type Comment = { id: string, ticket_id: string, author_id: string, author_name: string, body: string, 
/**
 * Internal notes are for technicians only; public comments count as a response to the client.
 */
internal: boolean, created_at: string, };

export type NewComment = { body: string, internal?: boolean, };

export type TimeEntry = { id: string, ticket_id: string, technician_id: string, technician_name: string, started_at: string, minutes: number, billable: boolean, note: string, };

export type NewTimeEntry = { minutes: number, 
/**
 * When the work started; defaults to `minutes` before now.
 */
started_at?: string, billable?: boolean, note?: string, 
/**
 * Defaults to the logged-in technician.
 */
technician_id?: string, };

export type HistoryEntry = { at: string, actor_name: string, action: string, 
/**
 * Field name → `[before, after]`, for edits.
 */
changes: Array<FieldChange>, };

export type FieldChange = { field: string, before: string, after: string, };

export type TicketDetail = { ticket: Ticket, comments: Array<Comment>, time_entries: Array<TimeEntry>, history: Array<HistoryEntry>, 
/**
 * Unresolved concurrent edits of this ticket (sync): each keeps the value that lost.
 */
conflicts: Array<Conflict>, 
/**
 * Files on the ticket and its comments, oldest first.
 */
attachments: Array<Attachment>, };

export type SlaTarget = { priority: Priority, 
/**
 * Business minutes from creation to the first public response.
 */
first_response_minutes: number, 
/**
 * Business minutes from creation to resolution, not counting time waiting on the client.
 */
resolution_minutes: number, };

export type SlaPolicy = { 
/**
 * IANA time zone the business hours are in, e.g. `Europe/Berlin`.
 */
timezone: string, 
/**
 * ISO week days that are working days: 1 = Monday … 7 = Sunday.
 */
work_days: Array<number>, 
/**
 * Start of the working day, minutes after midnight (local time).
 */
day_start_minute: number, 
/**
 * End of the working day, minutes after midnight (local time).
 */
day_end_minute: number, targets: Array<SlaTarget>, };

export type SavedView = { id: string, name: string, query: TicketQuery, 
/**
 * Built-in views ship with every store and cannot be deleted.
 */
builtin: boolean, };

export type NewSavedView = { name: string, query: TicketQuery, };

export type QueueCounts = { my_open: number, unassigned: number, breached: number, at_risk: number, };

export type DemoSummary = { clients: number, tickets: number, comments: number, time_entries: number, assets: number, };

export type UserClients = { clients: Array<string> | null, };

export type AssetKind = "workstation" | "laptop" | "server" | "network" | "printer" | "mobile" | "other";

export type Asset = { id: string, client_id: string, client_name: string, site_id: string | null, site_name: string | null, 
/**
 * Host name or label, e.g. `RECEPTION-PC`.
 */
name: string, kind: AssetKind, os: string, serial: string, notes: string, created_at: string, updated_at: string, 
/**
 * An agent reports for it (an enrolled endpoint, not a device recorded by hand).
 */
managed: boolean, 
/**
 * Its agent is connected now (as of the last sync, in an offline console).
 */
online: boolean, last_seen: string | null, 
/**
 * None for a device no agent reports for.
 */
health: EndpointHealth | null, };

export type NewAsset = { client_id: string, site_id?: string, name: string, kind: AssetKind, os?: string, serial?: string, notes?: string, };

export type UpdateAsset = { name?: string, kind?: AssetKind, os?: string, serial?: string, notes?: string, site_id?: string | null, };

export type AssetQuery = { client_id?: string, site_id?: string, kind?: AssetKind, 
/**
 * Part of the name, serial number or operating system.
 */
q?: string, health?: HealthState, 
/**
 * Only endpoints with an agent (true) or only devices recorded by hand (false).
 */
managed?: boolean, 
/**
 * Only endpoints waiting for a reboot.
 */
reboot_required?: boolean, sort?: AssetSort, 
/**
 * 1..=500 (default 100).
 */
limit?: number, offset?: number, };

export type AssetSort = "client" | "name" | "health" | "last_seen" | "cpu" | "memory" | "disk";

export type AssetPage = { items: Array<Asset>, total: number, };

export type NewEnrollmentToken = { client_id: string, site_id?: string, 
/**
 * 1..=8760 (a year).
 */
expires_in_hours: number, 
/**
 * How many machines may enroll with it, 1..=10000.
 */
max_uses: number, };

export type EnrollmentToken = { id: string, client_id: string, client_name: string, site_id: string | null, site_name: string | null, expires_at: string, max_uses: number, uses: number, revoked_at: string | null, created_by: string, created_at: string, 
/**
 * `active`, `expired`, `used_up` or `revoked`.
 */
state: string, };

export type EnrollmentTokenCreated = { token: string, enrollment: EnrollmentToken, };

export type GatewayInfo = { 
/**
 * The address agents should use, when the server was told it (`--public-url`).
 */
public_url: string | null, 
/**
 * The server certificate's SHA-256 fingerprint, which agents pin (https only).
 */
fingerprint: string | null, 
/**
 * Agents connected to this server now.
 */
connected_agents: number, };

export type EnrollRequest = { token: string, 
/**
 * The machine's identity: a keyed SHA-256 of its OS machine id (and SMBIOS uuid), hex.
 */
machine_fingerprint: string, 
/**
 * The agent's Ed25519 public key, hex.
 */
public_key: string, hostname: string, os: string, agent_version: string, 
/**
 * The root key fingerprint the admin's command gave (`--root`): the server refuses the
 * enrollment, storing nothing, when its root is another.
 */
root_fingerprint?: string, };

export type EnrollResponse = { agent_id: string, asset_id: string, 
/**
 * The secret the agent presents when it connects; the server keeps only its hash.
 */
credential: string, 
/**
 * The machine was known (a reinstall): it keeps its asset and history.
 */
reattached: boolean, 
/**
 * The client the token enrolled it for (run requests name it).
 */
client_id?: string, 
/**
 * The organisation's root public key (hex), when it has one: the agent pins it (after
 * checking it against `--root` when given).
 */
root_key?: string, };

export type SignedBlob = { body: string, signature: string, };

export type RunApproval = { certificate: SignedBlob, signature: string, };

export type SignedRunRequest = { request: SignedBlob, certificate: SignedBlob, approvals: Array<RunApproval>, };

export type AgentTrust = { 
/**
 * The pinned root's fingerprint, if it has one.
 */
root_fingerprint: string | null, 
/**
 * `enrollment` (checked against the fingerprint the admin saw), `first_use`, or `none`.
 */
pinned: string, 
/**
 * The revocation list it holds.
 */
revocation_seq: number, };

export type OutputStream = "stdout" | "stderr";

export type RunOutcome = "exited" | "timed_out" | "cancelled" | "failed";

export type TrustRoot = { 
/**
 * Hex.
 */
public_key: string, fingerprint: string, created_at: string, created_by: string, };

export type TrustState = { root: TrustRoot | null, revocation_seq: number, 
/**
 * When a run or an automation waits for a second technician.
 */
two_person_rule: TwoPersonRule, };

export type NewTrustRoot = { 
/**
 * The root's Ed25519 public key, hex.
 */
public_key: string, };

export type TechnicianCertificate = { serial: string, user_id: string, name: string, 
/**
 * Hex.
 */
public_key: string, fingerprint: string, not_before: string, not_after: string, 
/**
 * None: every client.
 */
clients: Array<string> | null, revoked_at: string | null, 
/**
 * Signed by a root that was since rotated away: no longer good for signing.
 */
superseded_at: string | null, certificate: SignedBlob, };

export type NewCertificate = { certificate: SignedBlob, };

export type NewRevocationList = { list: SignedBlob, };

export type RevocationState = { seq: number, list: SignedBlob | null, };

export type NewCertificateRequest = { 
/**
 * The technician's Ed25519 public key (hex), made in their desktop app's keyring.
 */
public_key: string, };

export type CertificateRequest = { id: string, user_id: string, name: string, public_key: string, fingerprint: string, requested_at: string, 
/**
 * `pending` or `issued`.
 */
state: string, 
/**
 * The clients the person may see (None: every client): what a certificate should cover.
 */
clients: Array<string> | null, };

export type CertifyRequest = { request_id: string, 
/**
 * 1..=365 (default 90).
 */
days?: number, };

export type RevokeCertificate = { serial: string, };

export type Interpreter = "bash" | "sh" | "powershell" | "cmd" | "python";

export type ScriptOs = "linux" | "macos" | "windows" | "any";

export type ParameterKind = "string" | "number" | "choice" | "secret";

export type ScriptParameter = { 
/**
 * `[A-Z][A-Z0-9_]*`, at most 64 characters.
 */
name: string, kind: ParameterKind, label?: string, required: boolean, default?: string, 
/**
 * With `choice`: the values allowed.
 */
choices: Array<string>, };

export type NewScript = { name: string, description: string, interpreter: Interpreter, os: ScriptOs, body: string, parameters: Array<ScriptParameter>, 
/**
 * 1..=86400.
 */
timeout_secs: number, tags: Array<string>, };

export type ScriptVersion = { script_id: string, version: number, name: string, description: string, interpreter: Interpreter, os: ScriptOs, body: string, 
/**
 * SHA-256 of the body, hex: what a run request signs.
 */
body_sha256: string, parameters: Array<ScriptParameter>, timeout_secs: number, tags: Array<string>, created_by: string, created_at: string, };

export type Script = { id: string, current: ScriptVersion, versions: number, 
/**
 * Shipped with Outpost (the starter library).
 */
starter: boolean, };

export type RunState = "awaiting_approval" | "scheduled" | "standby" | "waiting" | "running" | "finished" | "refused" | "expired" | "cancelled";

export type NewRuns = { runs: Array<SignedRunRequest>, 
/**
 * Run from this ticket (or its alert): the result is noted on it.
 */
ticket_id?: string, };

export type Run = { id: string, state: RunState, script_id: string, script_version: number, script_name: string, asset_id: string, asset_name: string, agent_id: string, client_id: string, signer: string, signer_fingerprint: string, signed_at: string, not_after: string, started_at: string | null, ended_at: string | null, outcome: RunOutcome | null, exit_code: number | null, stdout: string, stderr: string, stdout_truncated: boolean, stderr_truncated: boolean, 
/**
 * With `refused`: the agent's reason code and sentence.
 */
refusal_code: string | null, refusal: string | null, 
/**
 * Parameters as signed (sealed ones without their value).
 */
parameters: Array<RunParameter>, 
/**
 * Approvals the signer asked for, and who gave them.
 */
approvals_required: number, approved_by: Array<string>, 
/**
 * The signed request itself: what a second technician's approval signs.
 */
request: SignedBlob, 
/**
 * The ticket it was run from: its result is noted there as an internal comment.
 */
ticket_id: string | null, ticket_number: number | null, 
/**
 * The automation that signed it ahead, and when its time came or its alert fired.
 */
automation_id: string | null, triggered_at: string | null, 
/**
 * When it may start (its signed not-before).
 */
not_before: string, };

export type RunParameter = { name: string, 
/**
 * None when sealed to the agent (a secret).
 */
value: string | null, };

export type ApproveRun = { approval: RunApproval, };

export type ApproveRunHere = { run_id: string, };

export type RunQuery = { asset_id?: string, automation_id?: string, state?: RunState, limit?: number, };

export type RunList = { items: Array<Run>, total: number, };

export type SigningStatus = { 
/**
 * The organisation's root, as its server (or this console, standalone) knows it.
 */
organisation_root: TrustRoot | null, 
/**
 * This machine's keyring holds the root's private key (an admin's console).
 */
root_key_here: boolean, 
/**
 * The fingerprint of this technician's key in this machine's keyring.
 */
technician_key: string | null, 
/**
 * The root-signed certificate for that key, if there is one.
 */
certificate: TechnicianCertificate | null, 
/**
 * Runs can be signed on this console now.
 */
can_sign: boolean, 
/**
 * What to do next, in words.
 */
next_step: string, 
/**
 * Runs signed while the server could not be reached, waiting to be sent.
 */
runs_waiting_to_send: number, };

export type SetupSigning = { 
/**
 * Encrypts the root's recovery file (at least 12 characters).
 */
passphrase: string, };

export type SigningSetUp = { status: SigningStatus, 
/**
 * Where the root's recovery file was written (save it somewhere safe, off this machine).
 */
recovery_file: string | null, };

export type RunValue = { name: string, value: string, };

export type SignRuns = { script_id: string, 
/**
 * The endpoints (asset ids): one signed request each.
 */
assets: Array<string>, parameters: Array<RunValue>, 
/**
 * How long a run may wait for an offline endpoint, 1..=744 hours (default 24).
 */
valid_hours?: number, 
/**
 * Run from this ticket: the result is noted on it.
 */
ticket_id?: string, };

export type TwoPersonRule = { 
/**
 * 0..=100000 (default 50; 0: every run needs a second technician).
 */
endpoints: number, 
/**
 * 0..=10000 (default 1: a run over two clients needs a second technician).
 */
clients: number, };

export type NewRootRotation = { rotation: SignedBlob, revocation: SignedBlob, };

export type AutomationTrigger = "schedule" | "alert";

export type AutomationState = "awaiting_approval" | "active" | "expired" | "cancelled";

export type Automation = { id: string, name: string, trigger: AutomationTrigger, schedule: string | null, 
/**
 * The schedule in words ("At 02:00 on Sunday").
 */
schedule_description: string | null, time_zone: string, alert_kind: AlertKind | null, runs_per_endpoint: number, cooldown_minutes: number, script_id: string, script_version: number, script_name: string, parameters: Array<RunParameter>, assets: Array<string>, clients: Array<string>, valid_from: string, valid_until: string, state: AutomationState, signer: string, created_at: string, 
/**
 * Signed runs not used yet (scheduled or on standby).
 */
runs_left: number, 
/**
 * Runs it started, and how many of them failed (exit code not 0, refused, timed out).
 */
runs_started: number, runs_failed: number, next_run_at: string | null, cancelled_at: string | null, };

export type NewAutomation = { id: string, name: string, trigger: AutomationTrigger, schedule?: string, time_zone?: string, alert_kind?: AlertKind, runs_per_endpoint?: number, cooldown_minutes?: number, script_id: string, script_version: number, valid_from: string, valid_until: string, runs: Array<SignedRunRequest>, };

export type SignAutomation = { name: string, trigger: AutomationTrigger, schedule?: string, time_zone?: string, alert_kind?: AlertKind, runs_per_endpoint?: number, cooldown_minutes?: number, script_id: string, assets: Array<string>, parameters: Array<RunValue>, 
/**
 * How long the signatures last, 1..=31 days (default 31).
 */
valid_days?: number, };

export type ScheduleQuery = { schedule: string, time_zone?: string, };

export type SchedulePreview = { description: string, next: Array<string>, 
/**
 * Times within the longest validity (31 days): how many runs per endpoint it signs.
 */
runs_per_endpoint: number, };

export type RunApprovalFor = { run_id: string, approval: RunApproval, };

export type ApproveAutomation = { approvals: Array<RunApprovalFor>, };

export type ApproveAutomationHere = { automation_id: string, };

export type Stat = { min: number, avg: number, max: number, };

export type DiskUse = { mount: string, 
/**
 * Percent of the file system in use.
 */
used_pct: number, };

export type ProcessUse = { name: string, pid: number, 
/**
 * Percent of one core.
 */
cpu_pct: number, memory_bytes: number, };

export type Heartbeat = { seq: number, 
/**
 * The end of the window.
 */
at: string, window_secs: number, samples: number, 
/**
 * Percent of all cores.
 */
cpu: Stat, memory: Stat, disks: Array<DiskUse>, 
/**
 * Bytes per second received and sent, all interfaces.
 */
net_in: Stat, net_out: Stat, 
/**
 * Degrees Celsius, the hottest sensor, where the OS exposes one.
 */
temperature: Stat | null, 
/**
 * The busiest processes at the end of the window (for CPU and memory alerts).
 */
top_processes: Array<ProcessUse>, };

export type SystemInfo = { hostname: string, os_name: string, os_version: string, kernel: string, arch: string, boot_time: string, cpu_model: string, cpu_cores: number, memory_bytes: number, swap_bytes: number, manufacturer: string, model: string, serial: string, };

export type Disk = { mount: string, device: string, file_system: string, total_bytes: number, free_bytes: number, removable: boolean, };

export type NetworkInterface = { name: string, mac: string, addresses: Array<string>, };

export type Software = { name: string, version: string, 
/**
 * Where it was found: `dpkg`, `rpm`, `registry`, `applications`.
 */
source: string, };

export type Service = { name: string, description: string, running: boolean, 
/**
 * Starts at boot, where the OS says.
 */
enabled: boolean | null, };

export type PendingUpdate = { name: string, version: string, security: boolean, };

export type Updates = { 
/**
 * None when the OS could not be asked (no package manager found, no permission).
 */
pending: Array<PendingUpdate> | null, reboot_required: boolean, };

export type Inventory = { system?: SystemInfo, disks?: Array<Disk>, network?: Array<NetworkInterface>, users?: Array<string>, software?: Array<Software>, services?: Array<Service>, updates?: Updates, };

export type HealthState = "healthy" | "warning" | "critical" | "offline";

export type EndpointHealth = { state: HealthState, 
/**
 * Why it is not healthy, in words (`disk / 93 % full`).
 */
reasons: Array<string>, cpu_pct: number | null, memory_pct: number | null, 
/**
 * The fullest disk.
 */
disk_pct: number | null, pending_updates: number | null, reboot_required: boolean, agent_version: string, 
/**
 * Another machine presents this endpoint's identity (a cloned disk image).
 */
clone_warning: string | null, 
/**
 * Alerts firing on it now.
 */
open_alerts: number, };

export type InventoryChange = { id: string, at: string, 
/**
 * `software_installed`, `software_removed`, `software_updated`, `disk_added`,
 * `disk_removed`, `os_changed`, `memory_changed`, `cpu_changed`, `service_added`,
 * `service_removed`.
 */
kind: string, summary: string, };

export type AgentInfo = { agent_id: string, version: string, enrolled_at: string, revoked_at: string | null, 
/**
 * The agent's Ed25519 public key (hex): secret parameters are sealed to it.
 */
public_key: string, 
/**
 * The script-signing root it pinned, and how (`enrollment`, `first_use`, `none`): a
 * root taken on first use is for an admin to confirm.
 */
root_fingerprint: string | null, root_pinned: string | null, 
/**
 * Who confirmed a root taken on first use, and when (cleared if the agent's root changes).
 */
root_confirmed_by: string | null, root_confirmed_at: string | null, };

export type MetricSeries = "cpu" | "memory" | "disk" | "net_in" | "net_out" | "temperature";

export type MetricsQuery = { series: MetricSeries, 
/**
 * Start of the range (RFC 3339); default a day before `to`.
 */
from?: string, 
/**
 * End of the range (RFC 3339); default now.
 */
to?: string, };

export type MetricPoint = { at: string, min: number, avg: number, max: number, 
/**
 * Samples behind the point (minutes of heartbeats).
 */
count: number, };

export type MetricHistory = { series: MetricSeries, unit: string, from: string, to: string, 
/**
 * 60 (raw), 300 or 3600: chosen from the range's length.
 */
resolution_secs: number, points: Array<MetricPoint>, };

export type ChartTheme = "light" | "dark";

export type ChartQuery = { series: MetricSeries, from?: string, to?: string, 
/**
 * Default light.
 */
theme?: ChartTheme, 
/**
 * Pixels, 200..=2400 (default 720).
 */
width?: number, 
/**
 * Pixels, 120..=1600 (default 220).
 */
height?: number, };

export type ChartImage = { svg: string, series: MetricSeries, resolution_secs: number, points: number, 
/**
 * A sentence for screen readers and the image's alt text.
 */
summary: string, };

export type AssetDetail = { inventory: Inventory | null, inventory_at: string | null, 
/**
 * Newest first (the last 500).
 */
changes: Array<InventoryChange>, agent: AgentInfo | null, id: string, client_id: string, client_name: string, site_id: string | null, site_name: string | null, 
/**
 * Host name or label, e.g. `RECEPTION-PC`.
 */
name: string, kind: AssetKind, os: string, serial: string, notes: string, created_at: string, updated_at: string, 
/**
 * An agent reports for it (an enrolled endpoint, not a device recorded by hand).
 */
managed: boolean, 
/**
 * Its agent is connected now (as of the last sync, in an offline console).
 */
online: boolean, last_seen: string | null, 
/**
 * None for a device no agent reports for.
 */
health: EndpointHealth | null, };

export type FleetCounts = { total: number, managed: number, healthy: number, warning: number, critical: number, offline: number, reboot_required: number, per_client: Array<ClientFleetCount>, };

export type ClientFleetCount = { client_id: string, client_name: string, total: number, offline: number, attention: number, };

export type AlertKind = "disk" | "cpu" | "memory" | "temperature" | "service" | "offline" | "reboot" | "updates";

export type AlertRule = { id: string, client_id: string | null, client_name: string | null, kind: AlertKind, threshold: number, 
/**
 * Consecutive samples over the threshold before it fires (and under it before it clears).
 */
samples: number, 
/**
 * It clears only below threshold − hysteresis.
 */
hysteresis: number, service: string | null, priority: Priority, 
/**
 * The alert's ticket is resolved when the condition clears.
 */
resolve_on_clear: boolean, enabled: boolean, created_at: string, updated_at: string, };

export type NewAlertRule = { 
/**
 * Absent: the organisation's rule; set: an override for that client.
 */
client_id?: string, kind: AlertKind, threshold: number, 
/**
 * 1..=1440 (default 1).
 */
samples?: number, hysteresis?: number, 
/**
 * The service's name (kind `service` only).
 */
service?: string, priority?: Priority, resolve_on_clear?: boolean, enabled?: boolean, };

export type UpdateAlertRule = { threshold?: number, samples?: number, hysteresis?: number, priority?: Priority, resolve_on_clear?: boolean, enabled?: boolean, };

export type AlertState = "firing" | "cleared";

export type Alert = { id: string, rule_id: string, kind: AlertKind, asset_id: string, asset_name: string, client_id: string, client_name: string, 
/**
 * What it is about within the endpoint: a disk's mount, a service's name.
 */
subject: string, state: AlertState, priority: Priority, 
/**
 * In words, e.g. `CPU at 97 % for 10 samples (limit 85 %)`.
 */
message: string, value: number, ticket_id: string | null, ticket_number: number | null, opened_at: string, cleared_at: string | null, acknowledged_at: string | null, acknowledged_by: string | null, };

export type AlertQuery = { state?: AlertState, asset_id?: string, client_id?: string, kind?: AlertKind, 
/**
 * The alerts that opened (or note on) this ticket.
 */
ticket_id?: string, 
/**
 * Only alerts nobody has acknowledged.
 */
unacknowledged?: boolean, 
/**
 * 1..=500 (default 100).
 */
limit?: number, offset?: number, };

export type AlertPage = { items: Array<Alert>, total: number, firing: number, };

export type DesktopGateway = { enabled: boolean, 
/**
 * `address:port` it listens on, e.g. `0.0.0.0:8787`.
 */
listen: string, running: boolean, 
/**
 * The address agents use (`https://host:port`).
 */
address: string | null, 
/**
 * The certificate agents pin.
 */
fingerprint: string | null, connected_agents: number, 
/**
 * Why it is not running, when it should be.
 */
error: string | null, };

export type SetDesktopGateway = { enabled: boolean, listen: string, };

export type ChangeRecord = { change_id: string, 
/**
 * The replica where the change was made.
 */
replica_id: string, 
/**
 * Gap-free number of the change on its replica (1, 2, 3, ...).
 */
replica_seq: number, 
/**
 * Hybrid logical clock of the change: `wall-counter-replica`, sortable as text.
 */
hlc: string, entity: string, entity_id: string, 
/**
 * `insert`, `update` or `delete`.
 */
op: string, 
/**
 * The fields written, by name.
 */
fields: JsonValue, 
/**
 * For each written field, the clock of the value its author overwrote (null: none).
 */
base: JsonValue, };

export type PushRequest = { replica_id: string, 
/**
 * In `replica_seq` order, starting at most one past what the server acknowledged.
 */
changes: Array<ChangeRecord>, };

export type PushResponse = { 
/**
 * Every change of this replica up to this number is on the server.
 */
accepted_through: number, 
/**
 * Concurrent overwrites this push caused (their losing values are kept).
 */
conflicts: number, 
/**
 * Changes not taken over: records of clients the pushing user may not see (their scope
 * was narrowed while the console was offline), or privileged changes from a non-admin.
 */
refused: number, };

export type PullQuery = { 
/**
 * Server log position already applied (0 at first).
 */
after: number, 
/**
 * Page size, 1..=1000 (default 500).
 */
limit?: number, 
/**
 * Only changes of this entity type (a console re-syncing one type after a checksum
 * mismatch).
 */
entity?: string, 
/**
 * The sync generation the console speaks (`SYNC_GENERATION`); record types newer than
 * it are left out. Absent: 1, consoles from before status moves.
 */
sync?: number, };

export type ChecksumQuery = { 
/**
 * As in [`PullQuery`]. Absent: 1.
 */
sync?: number, };

export type PullPage = { changes: Array<ChangeRecord>, 
/**
 * Pass as `after` for the next page.
 */
next_cursor: number, has_more: boolean, 
/**
 * The server's newest log position: with the cursor, how much is left to fetch.
 */
latest: number, 
/**
 * The clients this page was filtered to (None: every client). A console that sees it
 * change drops what it may no longer see, and re-bootstraps when it may see more.
 */
scope: Array<string> | null, 
/**
 * The server log's epoch: a new one begins when the server is restored from a backup.
 */
log_epoch: string | null, 
/**
 * The last log position the restored backup held (where the epoch begins).
 */
epoch_starts_after: number | null, };

export type Conflict = { id: string, entity: string, entity_id: string, field: string, 
/**
 * The value that won (last writer by clock).
 */
kept_value: JsonValue, 
/**
 * The concurrent value that lost; choosing it is a normal edit.
 */
lost_value: JsonValue, detected_at: string, resolved: boolean, };

export type SyncStatus = { 
/**
 * None: standalone (this machine is the system).
 */
server_url: string | null, 
/**
 * Local changes the server has not acknowledged yet.
 */
pending: number, last_sync_at: string | null, 
/**
 * The last sync error, in words; None after a good sync.
 */
last_error: string | null, 
/**
 * The last round failed because the server could not be reached (working offline).
 */
offline: boolean, 
/**
 * Changes known to be waiting on the server for this console (a first sync in progress).
 */
to_fetch: number, open_conflicts: number, 
/**
 * The server certificate this console pinned (https), from the OS keyring.
 */
certificate: string | null, };

export type ConnectPreview = { clients: number, tickets: number, comments: number, time_entries: number, 
/**
 * Every change record that will be sent (edits included).
 */
changes: number, };

export type ConnectRequest = { 
/**
 * e.g. `https://outpost.example.com` or `http://127.0.0.1:8787`.
 */
server_url: string, username: string, password: string, 
/**
 * For https: the SHA-256 fingerprint of the server certificate the person compared and
 * trusts (the console pins it, and refuses any other certificate from then on).
 */
fingerprint?: string, };

export type ServerAddress = { 
/**
 * e.g. `https://outpost.example.com:8787`.
 */
url: string, };

export type EntityChecksum = { entity: string, count: number, 
/**
 * sha256 over the synced columns of every record, in id order.
 */
hash: string, };

export type SnapshotQuery = { 
/**
 * A record type (`client`, `ticket`, ...), in the order the core's `records::snapshot_order` gives.
 */
entity: string, 
/**
 * The last record id of the previous page; absent for the first page.
 */
after?: string, 
/**
 * Page size, 1..=1000 (default 500).
 */
limit?: number, };

export type SnapshotRecord = { id: string, fields: JsonValue, 
/**
 * Field -> version (`hlc/change_id`) for the fields edited since the record was
 * created; every other field's version is `created`. Empty for append-only records.
 */
versions: JsonValue, 
/**
 * The record's oldest field version (for a record whose fields are versioned), else the
 * version of the change that created it: the version of every field not in `versions`.
 * A new console dates the record by it.
 */
created: string | null, };

export type SnapshotPage = { entity: string, records: Array<SnapshotRecord>, has_more: boolean, 
/**
 * The server log's end when this page was read: after the snapshot, a console follows
 * the log from the smallest such value it saw.
 */
log_end: number, scope: Array<string> | null, 
/**
 * On the first page of a snapshot (the first type, no `after`): how many records the
 * whole snapshot holds, so a console can show how much is left.
 */
total: number | null, };

export type NewWebhook = { 
/**
 * Where deliveries are POSTed: http or https, not this server itself.
 */
url: string, 
/**
 * Event names: `ticket.created`, `ticket.updated`, `comment.added`, `alert.opened`,
 * `alert.resolved`, `run.finished`, `report.ready`.
 */
events: Array<string>, 
/**
 * The HMAC-SHA256 key the receiver checks signatures with (16 to 200 characters);
 * made here when absent and shown once.
 */
secret?: string, };

export type Webhook = { id: string, url: string, events: Array<string>, 
/**
 * Only in the answer that created it.
 */
secret?: string, created_by: string, created_at: string, 
/**
 * Deliveries waiting (queued or being retried).
 */
queued: number, delivered: number, 
/**
 * Deliveries that failed every try and wait in the dead-letter list.
 */
dead: number, last_delivered_at: string | null, };

export type DeadLetter = { 
/**
 * The delivery's id (the `X-Outpost-Delivery` header; a replay keeps it).
 */
id: string, webhook_id: string, url: string, event: string, 
/**
 * The JSON body as sent.
 */
body: string, attempts: number, 
/**
 * The last HTTP status received, if the receiver answered at all.
 */
last_status: number | null, 
/**
 * The start of the last answer's body (at most 2 KiB).
 */
last_response: string | null, 
/**
 * What went wrong on the last try, in words (timeout, refused, status…).
 */
last_error: string | null, created_at: string, failed_at: string, };

export type SmtpSecurity = "tls" | "starttls" | "none";

export type SetSmtpSettings = { host: string, port: number, security: SmtpSecurity, 
/**
 * Empty or absent: the server takes mail without logging in.
 */
username?: string, 
/**
 * Absent keeps the stored password; empty removes it.
 */
password?: string, 
/**
 * The address mail comes from (and clients reply to).
 */
from_address: string, 
/**
 * The name shown with it ("Acme IT Service Desk").
 */
from_name: string, };

export type SmtpSettings = { 
/**
 * False until an admin has set the mail server: nothing is mailed before.
 */
configured: boolean, host: string, port: number, security: SmtpSecurity, username: string, 
/**
 * Whether a password is stored (it is never shown).
 */
password_set: boolean, from_address: string, from_name: string, updated_by: string | null, updated_at: string | null, };

export type SmtpTestRequest = { 
/**
 * Who receives the test mail.
 */
to: string, };

export type MailStep = "dns" | "connect" | "tls" | "auth" | "sender" | "recipient" | "message";

export type SmtpTestResult = { ok: boolean, 
/**
 * Where it failed.
 */
step: MailStep | null, 
/**
 * What happened, in words (what the server said, when it said something).
 */
message: string, };

export type MailTemplateKind = "reply" | "acknowledgement" | "resolved" | "notification" | "report";

export type MailTemplate = { kind: MailTemplateKind, 
/**
 * Off: this kind of mail is not sent (replies cannot be turned off).
 */
enabled: boolean, subject: string, body: string, 
/**
 * Whether it is still the one Outpost came with.
 */
is_default: boolean, 
/**
 * The placeholders it may use (`{{ticket.number}}`…).
 */
placeholders: Array<string>, };

export type SetMailTemplate = { kind: MailTemplateKind, enabled?: boolean, subject: string, body: string, };

export type PreviewMailTemplate = { kind: MailTemplateKind, subject: string, body: string, 
/**
 * The ticket to fill it with (default: the newest one).
 */
ticket_id?: string, };

export type MailPreview = { subject: string, body: string, 
/**
 * Placeholders that mean nothing (they are left as written).
 */
unknown: Array<string>, };

export type OutboxState = "queued" | "sending" | "unsure" | "sent" | "failed";

export type OutboxMail = { id: string, kind: MailTemplateKind, ticket_id: string | null, ticket_number: number | null, to: Array<string>, cc: Array<string>, subject: string, body: string, message_id: string, state: OutboxState, attempts: number, 
/**
 * The step and words of the last failure.
 */
last_error: string | null, next_attempt_at: string | null, created_at: string, sent_at: string | null, };

export type OutboxQuery = { state?: OutboxState, ticket_id?: string, 
/**
 * 1..=500, default 100.
 */
limit?: number, offset?: number, };

export type OutboxPage = { items: Array<OutboxMail>, total: number, 
/**
 * How many wait for a person's decision (unsure) or failed.
 */
unsure: number, failed: number, };

export type OutboxDecision = "resend" | "mark_sent";

export type DecideOutboxMail = { decision: OutboxDecision, };

export type NewMailbox = { host: string, port: number, 
/**
 * TLS from the first byte (IMAPS, usually 993); false only for a server on this
 * machine or a trusted network.
 */
tls: boolean, username: string, password: string, 
/**
 * The folder to read (INBOX).
 */
folder: string, 
/**
 * Mail from unknown senders of this mailbox goes to this client (else "Unsorted mail").
 */
client_id?: string, };

export type Mailbox = { id: string, host: string, port: number, tls: boolean, username: string, folder: string, client_id: string | null, client_name: string | null, created_at: string, last_checked_at: string | null, 
/**
 * Why the last check failed, in words; None when it worked.
 */
last_error: string | null, 
/**
 * Mails that became a ticket or a comment.
 */
imported: number, 
/**
 * Mails recognised as auto-replies, bounces, loops or duplicates (no ticket).
 */
ignored: number, };

export type MailSender = { 
/**
 * False: the ticket has no unknown sender (it did not come by mail, or they were added).
 */
unknown: boolean, address: string, name: string, };

export type NotificationKind = "assigned" | "client_replied" | "mentioned" | "sla_at_risk" | "sla_breached" | "alert_opened";

export type Notification = { id: string, kind: NotificationKind, ticket_id: string | null, title: string, body: string, created_at: string, read_at: string | null, };

export type NotificationList = { 
/**
 * Newest first.
 */
items: Array<Notification>, unread: number, };

export type MarkNotificationsRead = { 
/**
 * These; absent: all of mine.
 */
ids?: Array<string>, };

export type NotificationPrefs = { in_app: Array<NotificationKind>, by_mail: Array<NotificationKind>, 
/**
 * Where mail notifications go (empty: none are mailed).
 */
mail_to: string, };

export type Attachment = { id: string, ticket_id: string, 
/**
 * The comment it came with (a reply's files, a mail's attachments); None: the ticket's.
 */
comment_id: string | null, 
/**
 * The name as given, made safe: no folders, no control characters.
 */
file_name: string, 
/**
 * What it is served as, decided from its bytes and name (never what the sender claimed).
 */
content_type: string, size: number, 
/**
 * SHA-256 of the bytes, hex: the name they are stored under.
 */
sha256: string, 
/**
 * Where it came from: `upload` or `mail`.
 */
source: string, uploaded_by: string, uploaded_by_name: string, created_at: string, 
/**
 * An image the console may show inline (PNG, JPEG, GIF or WebP by its bytes).
 */
preview: boolean, 
/**
 * Why opening it deserves care, in words (a program, or a name that hides one); None:
 * an ordinary file.
 */
warning: string | null, 
/**
 * Its bytes are in this store (false on a console that has not opened it yet).
 */
available: boolean, };

export type NewAttachment = { ticket_id: string, comment_id: string | null, file_name: string, 
/**
 * The bytes, base64.
 */
data_base64: string, };

export type AttachmentContent = { attachment: Attachment, data_base64: string, };

export type AttachmentSettings = { 
/**
 * The largest file accepted, in MiB (1 to 100).
 */
max_file_mib: number, };

export type DashboardQuery = { 
/**
 * First day, `YYYY-MM-DD`.
 */
from: string, 
/**
 * Last day, `YYYY-MM-DD` (included); at most 400 days after `from`.
 */
to: string, client_id?: string, };

export type CountBy = { key: string, count: number, };

export type DayFigures = { 
/**
 * `YYYY-MM-DD`.
 */
day: string, 
/**
 * Tickets opened that day.
 */
opened: number, 
/**
 * Tickets resolved that day.
 */
closed: number, 
/**
 * Alerts that opened that day.
 */
alerts: number, };

export type Compliance = { met: number, missed: number, 
/**
 * Still running (no answer yet and not late yet).
 */
pending: number, 
/**
 * met / (met + missed), in percent; None when nothing is decided.
 */
percent: number | null, };

export type PriorityCompliance = { priority: Priority, first_response: Compliance, resolution: Compliance, };

export type ClientFigures = { client_id: string, client_name: string, 
/**
 * Tickets opened in the period.
 */
tickets: number, 
/**
 * Minutes of time entries started in the period.
 */
minutes: number, };

export type TechnicianHours = { user_id: string, name: string, billable_minutes: number, other_minutes: number, };

export type FleetHealth = { endpoints: number, online: number, offline: number, with_open_alerts: number, 
/**
 * Endpoints with at least one update waiting.
 */
pending_updates: number, reboot_needed: number, };

export type Dashboard = { from: string, to: string, 
/**
 * The zone the days are counted in.
 */
time_zone: string, client_id: string | null, 
/**
 * Unfinished tickets now, by priority (critical first) and by status.
 */
open_by_priority: Array<CountBy>, open_by_status: Array<CountBy>, 
/**
 * Unfinished tickets now, by age: `under_1d`, `1_3d`, `3_7d`, `7_30d`, `over_30d`.
 */
backlog_age: Array<CountBy>, opened: number, closed: number, days: Array<DayFigures>, first_response: Compliance, resolution: Compliance, by_priority: Array<PriorityCompliance>, 
/**
 * Mean minutes (wall clock) from opening to the first response, and to resolution, of
 * tickets opened in the period that have one.
 */
mean_first_response_minutes: number | null, mean_resolution_minutes: number | null, 
/**
 * At most 10 each, the most first.
 */
top_clients_by_tickets: Array<ClientFigures>, top_clients_by_hours: Array<ClientFigures>, technicians: Array<TechnicianHours>, fleet: FleetHealth, alerts_opened: number, };

export type DashboardChartKind = "tickets_per_day" | "alerts_per_day" | "sla_by_priority";

export type DashboardChartQuery = { chart: DashboardChartKind, from: string, to: string, client_id?: string, 
/**
 * Default light.
 */
theme?: ChartTheme, 
/**
 * Pixels, 200..=2400 (default 720).
 */
width?: number, 
/**
 * Pixels, 120..=1600 (default 240).
 */
height?: number, };

export type ChartRegion = { 
/**
 * The day (`YYYY-MM-DD`) or the priority it stands for.
 */
key: string, 
/**
 * What it shows, in words (its tooltip).
 */
label: string, x: number, y: number, w: number, h: number, };

export type DashboardChart = { kind: DashboardChartKind, svg: string, 
/**
 * A sentence for screen readers and the image's alt text.
 */
summary: string, regions: Array<ChartRegion>, };

export type DashboardChartsQuery = { from: string, to: string, client_id?: string, 
/**
 * Default light.
 */
theme?: ChartTheme, 
/**
 * Pixels per chart, 200..=2400 (default 720).
 */
width?: number, 
/**
 * Pixels per chart, 120..=1600 (default 240).
 */
height?: number, };

export type DashboardWithCharts = { dashboard: Dashboard, 
/**
 * Tickets per day, SLA by priority, alerts per day.
 */
charts: Array<DashboardChart>, };

export type ReportSection = "summary" | "tickets_per_day" | "sla" | "time" | "endpoints" | "alerts" | "scripts" | "appendix";

export type ClientReportQuery = { 
/**
 * First day, `YYYY-MM-DD`.
 */
from: string, 
/**
 * Last day, `YYYY-MM-DD` (included).
 */
to: string, };

export type ReportFormat = "pdf" | "csv";

export type ReportTable = "tickets" | "time" | "endpoints" | "alerts";

export type ClientReportFileQuery = { from: string, to: string, format?: ReportFormat, 
/**
 * Which table, with `format=csv`.
 */
table?: ReportTable, };

export type ReportFile = { file_name: string, content_type: string, data_base64: string, };

export type ReportBranding = { msp_name: string, 
/**
 * `image/png` or `image/jpeg` when a logo is set.
 */
logo_type: string | null, };

export type SetReportBranding = { 
/**
 * 1–120 characters.
 */
msp_name: string, 
/**
 * A PNG or JPEG of at most 2 MiB, base64; `null` keeps the logo, `""` removes it.
 */
logo_base64?: string, };

export type ClientReportSettings = { client_id: string, sections: Array<ReportSection>, };

export type SetClientReportSettings = { 
/**
 * The sections to print, any order (printed in the report's order); at least one.
 */
sections: Array<ReportSection>, };

export type ReportBreach = { number: number, title: string, priority: Priority, 
/**
 * `first response` or `resolution`.
 */
target: string, 
/**
 * When it was due, in the report's zone (`YYYY-MM-DD HH:MM`).
 */
due: string, 
/**
 * Minutes late: when it was met late, or until now if it is still open.
 */
late_minutes: number, 
/**
 * Met late (false: still not met at the time of the report).
 */
met_late: boolean, };

export type ReportTicketTime = { number: number, title: string, billable_minutes: number, other_minutes: number, };

export type ReportTimeEntry = { 
/**
 * `YYYY-MM-DD HH:MM` in the report's zone.
 */
started: string, technician: string, ticket_number: number, ticket_title: string, minutes: number, billable: boolean, note: string, };

export type ReportTime = { billable_minutes: number, other_minutes: number, technicians: Array<TechnicianHours>, 
/**
 * Tickets with time in the period, the most billable first.
 */
tickets: Array<ReportTicketTime>, entries: Array<ReportTimeEntry>, };

export type ReportEndpoint = { name: string, kind: string, os: string, site: string, online: boolean, 
/**
 * `YYYY-MM-DD HH:MM` in the report's zone; empty if never seen.
 */
last_seen: string, health: string, 
/**
 * The fullest disk, percent used.
 */
disk_used_percent: number | null, pending_updates: number | null, security_updates: number | null, reboot_required: boolean, 
/**
 * Not seen for 30 days or more (or never).
 */
stale: boolean, };

export type ReportDisk = { endpoint: string, mount: string, used_percent: number, free_bytes: number, total_bytes: number, };

export type ReportEndpoints = { total: number, online: number, by_os: Array<CountBy>, disks_near_full: Array<ReportDisk>, 
/**
 * Names of endpoints not seen for 30 days or more.
 */
not_seen_30_days: Array<string>, pending_updates: number, reboot_needed: number, 
/**
 * The most installed software, at most 15.
 */
software: Array<CountBy>, endpoints: Array<ReportEndpoint>, };

export type ReportAlert = { opened: string, endpoint: string, priority: Priority, message: string, 
/**
 * `firing` or `cleared`.
 */
state: string, cleared: string, ticket_number: number | null, 
/**
 * In words: "cleared after 2 h 5 min; ticket #123 resolved".
 */
outcome: string, };

export type ReportRun = { at: string, script: string, endpoint: string, signed_by: string, outcome: string, exit_code: number | null, };

export type ReportTicket = { number: number, opened: string, title: string, priority: Priority, status: TicketStatus, resolved: string, contact: string, minutes: number, };

export type ClientReport = { client_id: string, client_name: string, msp_name: string, has_logo: boolean, from: string, to: string, 
/**
 * "November 2026" for a calendar month, else "3 Nov 2026 – 18 Nov 2026".
 */
period_label: string, time_zone: string, 
/**
 * When it was made, in the report's zone.
 */
made_at: string, 
/**
 * The sections printed, in order.
 */
sections: Array<ReportSection>, summary: Dashboard, breaches: Array<ReportBreach>, time: ReportTime, endpoints: ReportEndpoints, alerts: Array<ReportAlert>, runs: Array<ReportRun>, tickets: Array<ReportTicket>, 
/**
 * True when the period holds no ticket, time, alert or run (the report says so).
 */
empty: boolean, };

export type ClientReportPreview = { report: ClientReport, 
/**
 * The first pages (at most 12), as SVG images.
 */
pages: Array<string>, 
/**
 * How many pages the PDF has.
 */
page_count: number, };

export type ReportSchedule = { client_id: string, 
/**
 * False when the client has no schedule yet (the rest are the defaults).
 */
scheduled: boolean, enabled: boolean, day_of_month: number, 
/**
 * Contacts of the client who get the report (each has an email address).
 */
recipients: Array<string>, 
/**
 * The next report it will make, in words ("December 2026, on 1 January 2027").
 */
next: string | null, };

export type SetReportSchedule = { enabled: boolean, 
/**
 * 1–28, so every month has the day.
 */
day_of_month: number, 
/**
 * Contacts of this client, each with an email address; at least one when enabled.
 */
recipients: Array<string>, };

export type ReportHistoryEntry = { id: string, client_id: string, from: string, to: string, period_label: string, made_at: string, 
/**
 * Who made it (`Report schedule` for a schedule).
 */
made_by: string, by_schedule: boolean, file_name: string, size_bytes: number, mailed_to: Array<string>, 
/**
 * The mail's state in the outbox (`queued`, `sent`, `failed`…), when it was mailed.
 */
mail_state: string | null, };

export type AuditQuery = { 
/**
 * Who did it (a user's id).
 */
actor_id?: string, 
/**
 * An action (`ticket.update`), or everything of a kind with a trailing dot (`ticket.`).
 */
action?: string, 
/**
 * Events about this client or its tickets, sites, contacts and endpoints.
 */
client_id?: string, 
/**
 * Events about one record.
 */
entity_id?: string, 
/**
 * From this instant (RFC 3339), included.
 */
from?: string, 
/**
 * Until this instant (RFC 3339), excluded.
 */
to?: string, 
/**
 * Events older than this one (the next page).
 */
before_seq?: number, 
/**
 * 1–500; 100 unless given.
 */
limit?: number, };

export type AuditEvent = { 
/**
 * Its place in the chain (1 is the first event).
 */
seq: number, id: string, at: string, 
/**
 * None: a part of Outpost (a schedule, sync from another console's change).
 */
actor_id: string | null, actor_name: string, action: string, entity: string, entity_id: string, 
/**
 * The fields before (edits and deletions).
 */
before: JsonValue | null, 
/**
 * The fields after (creations and edits).
 */
after: JsonValue | null, };

export type AuditPage = { items: Array<AuditEvent>, 
/**
 * Pass as `before_seq` for the next page; None on the last one.
 */
next_before_seq: number | null, };

export type AuditVerification = { 
/**
 * True when every event hashes to what the next one recorded.
 */
intact: boolean, 
/**
 * Events checked (up to the broken one, when broken).
 */
events: number, 
/**
 * The last event's place and hash (what a backup's manifest records).
 */
head_seq: number | null, head_hash: string | null, 
/**
 * The first broken link.
 */
broken: AuditBreak | null, };

export type AuditBreak = { seq: number, at: string | null, action: string, actor_name: string, 
/**
 * What is wrong (`its content was changed after it was written`, `event 41 before it
 * is missing`).
 */
reason: string, };

export type StoreBackup = { 
/**
 * Where the file is (the console's backups folder).
 */
file: string, bytes: number, made_at: string, tickets: number, files: number, audit_head_seq: number | null, };

export type NewApiKey = { 
/**
 * What it is for ("Billing sync"); unique.
 */
name: string, role: Role, 
/**
 * The clients it may see; empty: every client.
 */
clients: Array<string>, 
/**
 * 1–3650 days; without it the key does not expire.
 */
expires_in_days?: number, 
/**
 * Requests per minute before 429 (1–100,000; 1,000 unless given).
 */
rate_per_minute?: number, };

export type ApiKey = { id: string, name: string, role: Role, 
/**
 * Empty: every client.
 */
clients: Array<string>, 
/**
 * `opk_` and its first characters, to tell keys apart.
 */
prefix: string, rate_per_minute: number, created_by: string, created_at: string, expires_at: string | null, revoked_at: string | null, last_used_at: string | null, };

export type CreatedApiKey = { 
/**
 * Send as `Authorization: Bearer KEY`.
 */
key: string, api_key: ApiKey, };

export type SessionInfo = { id: string, 
/**
 * The browser or app it was opened from, as it named itself.
 */
device: string, 
/**
 * The address it logged in from (empty: this device).
 */
address: string, created_at: string, last_used_at: string | null, expires_at: string, 
/**
 * The session this request came with.
 */
current: boolean, };

export type BackupSchedule = { enabled: boolean, 
/**
 * An absolute folder on the server's host (another disk, a mounted share).
 */
folder: string, 
/**
 * 1–168.
 */
every_hours: number, 
/**
 * How many to keep, 1–365; older ones are removed.
 */
keep: number, 
/**
 * When the last scheduled backup ran (ignored when set).
 */
last_at?: string, last_file?: string, 
/**
 * Why the last one failed, in words.
 */
last_error?: string, };

export type BillingRate = { subject_id: string, 
/**
 * The technician's or client's name (ignored when set).
 */
name: string, rate_cents: number, };

export type BillingSettings = { 
/**
 * ISO 4217, e.g. `EUR`.
 */
currency: string, default_rate_cents: number, 
/**
 * Each entry is rounded up to a multiple of this (1–60; 1 = exact).
 */
round_to_minutes: number, 
/**
 * And then raised to at least this (0–480).
 */
minimum_minutes: number, technician_rates: Array<BillingRate>, client_rates: Array<BillingRate>, };

export type BillingExportQuery = { from: string, to: string, client_id?: string, };

