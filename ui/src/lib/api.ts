// Generated from the operation table (crates/core/src/api/operations.rs) by
// `cargo xtask gen`. Do not edit by hand: add or change the operation there.

import type {
  Alert,
  AlertPage,
  AlertQuery,
  AlertRule,
  ApiKey,
  ApproveAutomation,
  ApproveAutomationHere,
  ApproveRun,
  ApproveRunHere,
  Asset,
  AssetDetail,
  AssetPage,
  AssetQuery,
  Attachment,
  AttachmentContent,
  AttachmentSettings,
  AuditPage,
  AuditQuery,
  AuditVerification,
  Automation,
  BackupSchedule,
  BillingExportQuery,
  BillingSettings,
  CertificateRequest,
  CertifyRequest,
  ChartImage,
  ChartQuery,
  ChecksumQuery,
  Client,
  ClientDetail,
  ClientReportFileQuery,
  ClientReportPreview,
  ClientReportQuery,
  ClientReportSettings,
  Comment,
  ConnectPreview,
  ConnectRequest,
  Contact,
  CreatedApiKey,
  Dashboard,
  DashboardChart,
  DashboardChartQuery,
  DashboardChartsQuery,
  DashboardQuery,
  DashboardWithCharts,
  DeadLetter,
  DecideOutboxMail,
  DemoSummary,
  DesktopGateway,
  EnrollRequest,
  EnrollResponse,
  EnrollmentToken,
  EnrollmentTokenCreated,
  EntityChecksum,
  FirstAdminRequest,
  FleetCounts,
  GatewayInfo,
  Health,
  LoginRequest,
  MailPreview,
  MailSender,
  MailTemplate,
  Mailbox,
  MarkNotificationsRead,
  MetricHistory,
  MetricsQuery,
  NewAlertRule,
  NewApiKey,
  NewAsset,
  NewAttachment,
  NewAutomation,
  NewCertificate,
  NewCertificateRequest,
  NewClient,
  NewComment,
  NewContact,
  NewEnrollmentToken,
  NewMailbox,
  NewRevocationList,
  NewRootRotation,
  NewRuns,
  NewSavedView,
  NewScript,
  NewSite,
  NewTicket,
  NewTimeEntry,
  NewTrustRoot,
  NewUser,
  NewWebhook,
  NotificationList,
  NotificationPrefs,
  OutboxMail,
  OutboxPage,
  OutboxQuery,
  PreviewMailTemplate,
  PullPage,
  PullQuery,
  PushRequest,
  PushResponse,
  QueueCounts,
  ReportBranding,
  ReportFile,
  ReportHistoryEntry,
  ReportSchedule,
  RevocationState,
  RevokeCertificate,
  Run,
  RunList,
  RunQuery,
  SavedView,
  SchedulePreview,
  ScheduleQuery,
  Script,
  ScriptVersion,
  ServerAddress,
  Session,
  SessionInfo,
  SetClientReportSettings,
  SetDesktopGateway,
  SetMailTemplate,
  SetReportBranding,
  SetReportSchedule,
  SetSmtpSettings,
  SetupSigning,
  SetupState,
  SignAutomation,
  SignRuns,
  SigningSetUp,
  SigningStatus,
  Site,
  SlaPolicy,
  SmtpSettings,
  SmtpTestRequest,
  SmtpTestResult,
  SnapshotPage,
  SnapshotQuery,
  StoreBackup,
  SyncStatus,
  TechnicianCertificate,
  Ticket,
  TicketDetail,
  TicketPage,
  TicketQuery,
  TimeEntry,
  TrustRoot,
  TrustState,
  TwoPersonRule,
  UpdateAlertRule,
  UpdateAsset,
  UpdateClient,
  UpdateContact,
  UpdateSite,
  UpdateTicket,
  User,
  UserClients,
  Webhook,
} from './types';
import { call } from './transport';

export * from './transport';

const enc = encodeURIComponent;

export const api = {
  /** Whether the service answers, and its version. */
  health: () =>
    call<Health>({ op: 'health', auth: false, write: false, http: { method: 'GET', path: `/health` } }),

  /** Whether this store still needs its first admin. */
  setupState: () =>
    call<SetupState>({ op: 'setup_state', auth: false, write: false, http: { method: 'GET', path: `/setup` } }),

  /** Creates the first admin (first run only). */
  createFirstAdmin: (body: FirstAdminRequest) =>
    call<Session>({ op: 'create_first_admin', auth: false, write: false, body, http: { method: 'POST', path: `/setup` } }),

  /** Logs in; the answer carries the bearer token. */
  login: (body: LoginRequest) =>
    call<Session>({ op: 'login', auth: false, write: false, body, http: { method: 'POST', path: `/auth/login` } }),

  /** Ends the session the request carries. */
  logout: () =>
    call<null>({ op: 'logout', auth: false, write: false, http: { method: 'POST', path: `/auth/logout` } }),

  /** The person logged in. */
  me: () =>
    call<User>({ op: 'me', auth: true, write: false, http: { method: 'GET', path: `/me` } }),

  /** Your sessions: the device and address each was opened from and when it was last used. */
  listMySessions: () =>
    call<SessionInfo[]>({ op: 'list_my_sessions', auth: true, write: false, http: { method: 'GET', path: `/me/sessions` } }),

  /** Ends one of your sessions (another device, or this one). */
  endMySession: (id: string) =>
    call<null>({ op: 'end_my_session', auth: true, write: true, id, http: { method: 'DELETE', path: `/me/sessions/${enc(id)}` } }),

  /** Everyone in the organisation. */
  listUsers: () =>
    call<User[]>({ op: 'list_users', auth: true, write: false, http: { method: 'GET', path: `/users` } }),

  /** Adds a person (admins). */
  createUser: (body: NewUser) =>
    call<User>({ op: 'create_user', auth: true, write: true, body, http: { method: 'POST', path: `/users` } }),

  /** Limits a technician or viewer to some clients, or to none (admins). */
  setUserClients: (id: string, body: UserClients) =>
    call<User>({ op: 'set_user_clients', auth: true, write: true, id, body, http: { method: 'PUT', path: `/users/${enc(id)}/clients` } }),

  /** The clients this person may see. */
  listClients: () =>
    call<Client[]>({ op: 'list_clients', auth: true, write: false, http: { method: 'GET', path: `/clients` } }),

  /** Adds a client. */
  createClient: (body: NewClient) =>
    call<Client>({ op: 'create_client', auth: true, write: true, body, http: { method: 'POST', path: `/clients` } }),

  /** A client with its sites and contacts. */
  getClient: (id: string) =>
    call<ClientDetail>({ op: 'get_client', auth: true, write: false, id, http: { method: 'GET', path: `/clients/${enc(id)}` } }),

  /** Renames a client or edits its notes. */
  updateClient: (id: string, body: UpdateClient) =>
    call<Client>({ op: 'update_client', auth: true, write: true, id, body, http: { method: 'PATCH', path: `/clients/${enc(id)}` } }),

  /** Adds a site to a client. */
  createSite: (id: string, body: NewSite) =>
    call<Site>({ op: 'create_site', auth: true, write: true, id, body, http: { method: 'POST', path: `/clients/${enc(id)}/sites` } }),

  /** Adds a contact to a client. */
  createContact: (id: string, body: NewContact) =>
    call<Contact>({ op: 'create_contact', auth: true, write: true, id, body, http: { method: 'POST', path: `/clients/${enc(id)}/contacts` } }),

  /** Edits a site. */
  updateSite: (id: string, body: UpdateSite) =>
    call<Site>({ op: 'update_site', auth: true, write: true, id, body, http: { method: 'PATCH', path: `/sites/${enc(id)}` } }),

  /** Edits a contact. */
  updateContact: (id: string, body: UpdateContact) =>
    call<Contact>({ op: 'update_contact', auth: true, write: true, id, body, http: { method: 'PATCH', path: `/contacts/${enc(id)}` } }),

  /** Devices, filtered by client, site, kind or text. */
  listAssets: (query: AssetQuery) =>
    call<AssetPage>({ op: 'list_assets', auth: true, write: false, query, http: { method: 'GET', path: `/assets` } }),

  /** One device, with its inventory, its changes and its agent. */
  getAsset: (id: string) =>
    call<AssetDetail>({ op: 'get_asset', auth: true, write: false, id, http: { method: 'GET', path: `/assets/${enc(id)}` } }),

  /** Endpoints per health state and per client. */
  fleetCounts: () =>
    call<FleetCounts>({ op: 'fleet_counts', auth: true, write: false, http: { method: 'GET', path: `/fleet-counts` } }),

  /** One series of an endpoint's metrics over a range. */
  assetMetrics: (id: string, query: MetricsQuery) =>
    call<MetricHistory>({ op: 'asset_metrics', auth: true, write: false, id, query, http: { method: 'GET', path: `/assets/${enc(id)}/metrics` } }),

  /** One series of an endpoint's metrics drawn as a chart (SVG), thresholds shown. */
  assetChart: (id: string, query: ChartQuery) =>
    call<ChartImage>({ op: 'asset_chart', auth: true, write: false, id, query, http: { method: 'GET', path: `/assets/${enc(id)}/chart` } }),

  /** Confirms the signing root an agent took on first use (admins). */
  confirmAgentRoot: (id: string) =>
    call<null>({ op: 'confirm_agent_root', auth: true, write: true, id, http: { method: 'POST', path: `/assets/${enc(id)}/confirm-root` } }),

  /** Cuts an endpoint's agent off; it must enroll again (admins). */
  revokeAgent: (id: string) =>
    call<null>({ op: 'revoke_agent', auth: true, write: true, id, http: { method: 'POST', path: `/assets/${enc(id)}/revoke-agent` } }),

  /** Alerts, firing first: filter by state, endpoint, client, kind. */
  listAlerts: (query: AlertQuery) =>
    call<AlertPage>({ op: 'list_alerts', auth: true, write: false, query, http: { method: 'GET', path: `/alerts` } }),

  /** Says someone is on an alert. */
  acknowledgeAlert: (id: string) =>
    call<Alert>({ op: 'acknowledge_alert', auth: true, write: true, id, http: { method: 'POST', path: `/alerts/${enc(id)}/acknowledge` } }),

  /** The organisation's alert rules and the clients' overrides. */
  listAlertRules: () =>
    call<AlertRule[]>({ op: 'list_alert_rules', auth: true, write: false, http: { method: 'GET', path: `/alert-rules` } }),

  /** Adds an alert rule, or a client's override of one (admins). */
  createAlertRule: (body: NewAlertRule) =>
    call<AlertRule>({ op: 'create_alert_rule', auth: true, write: true, body, http: { method: 'POST', path: `/alert-rules` } }),

  /** Changes an alert rule's threshold, samples, priority… (admins). */
  updateAlertRule: (id: string, body: UpdateAlertRule) =>
    call<AlertRule>({ op: 'update_alert_rule', auth: true, write: true, id, body, http: { method: 'PATCH', path: `/alert-rules/${enc(id)}` } }),

  /** Enrollment tokens, newest first (admins). */
  listEnrollmentTokens: () =>
    call<EnrollmentToken[]>({ op: 'list_enrollment_tokens', auth: true, write: false, http: { method: 'GET', path: `/enrollment-tokens` } }),

  /** Lets machines join a client (admins); the secret is shown once. */
  createEnrollmentToken: (body: NewEnrollmentToken) =>
    call<EnrollmentTokenCreated>({ op: 'create_enrollment_token', auth: true, write: true, body, http: { method: 'POST', path: `/enrollment-tokens` } }),

  /** Stops an enrollment token from letting more machines in (admins). */
  revokeEnrollmentToken: (id: string) =>
    call<EnrollmentToken>({ op: 'revoke_enrollment_token', auth: true, write: true, id, http: { method: 'POST', path: `/enrollment-tokens/${enc(id)}/revoke` } }),

  /** What an agent needs to reach this server (its address and certificate). (answered by the server; the desktop app refuses it) */
  gatewayInfo: () =>
    call<GatewayInfo>({ op: 'gateway_info', auth: true, write: false, http: { method: 'GET', path: `/agent-gateway` } }),

  /** An agent joins with an enrollment token (called by outpost-agent). (answered by the server; the desktop app refuses it) */
  enrollAgent: (body: EnrollRequest) =>
    call<EnrollResponse>({ op: 'enroll_agent', auth: false, write: false, body, http: { method: 'POST', path: `/agent/enroll` } }),

  /** Records a device. */
  createAsset: (body: NewAsset) =>
    call<Asset>({ op: 'create_asset', auth: true, write: true, body, http: { method: 'POST', path: `/assets` } }),

  /** Edits a device. */
  updateAsset: (id: string, body: UpdateAsset) =>
    call<Asset>({ op: 'update_asset', auth: true, write: true, id, body, http: { method: 'PATCH', path: `/assets/${enc(id)}` } }),

  /** The script library (the starter scripts included), by name. */
  listScripts: () =>
    call<Script[]>({ op: 'list_scripts', auth: true, write: false, http: { method: 'GET', path: `/scripts` } }),

  /** Adds a script to the library (its version 1). */
  createScript: (body: NewScript) =>
    call<Script>({ op: 'create_script', auth: true, write: true, body, http: { method: 'POST', path: `/scripts` } }),

  /** One script and its current version. */
  getScript: (id: string) =>
    call<Script>({ op: 'get_script', auth: true, write: false, id, http: { method: 'GET', path: `/scripts/${enc(id)}` } }),

  /** Edits a script: a new version (runs keep the version they ran). */
  updateScript: (id: string, body: NewScript) =>
    call<Script>({ op: 'update_script', auth: true, write: true, id, body, http: { method: 'PATCH', path: `/scripts/${enc(id)}` } }),

  /** Every version of a script, newest first. */
  scriptVersions: (id: string) =>
    call<ScriptVersion[]>({ op: 'script_versions', auth: true, write: false, id, http: { method: 'GET', path: `/scripts/${enc(id)}/versions` } }),

  /** Takes signed run requests (one per endpoint); all are stored or none. */
  createRuns: (body: NewRuns) =>
    call<Run[]>({ op: 'create_runs', auth: true, write: true, body, http: { method: 'POST', path: `/runs` } }),

  /** Runs, newest first: filter by endpoint and state. */
  listRuns: (query: RunQuery) =>
    call<RunList>({ op: 'list_runs', auth: true, write: false, query, http: { method: 'GET', path: `/runs` } }),

  /** One run: state, exit code, output, times, who signed it. */
  getRun: (id: string) =>
    call<Run>({ op: 'get_run', auth: true, write: false, id, http: { method: 'GET', path: `/runs/${enc(id)}` } }),

  /** A second technician's approval of a run waiting for one. */
  approveRun: (id: string, body: ApproveRun) =>
    call<Run>({ op: 'approve_run', auth: true, write: true, id, body, http: { method: 'POST', path: `/runs/${enc(id)}/approve` } }),

  /** Stops a run (its agent kills every process it started). */
  cancelRun: (id: string) =>
    call<Run>({ op: 'cancel_run', auth: true, write: true, id, http: { method: 'POST', path: `/runs/${enc(id)}/cancel` } }),

  /** Automations (runs signed ahead for a schedule or an alert), newest first. */
  listAutomations: () =>
    call<Automation[]>({ op: 'list_automations', auth: true, write: false, http: { method: 'GET', path: `/automations` } }),

  /** Takes an automation and every run signed for it; all are stored or none. */
  createAutomation: (body: NewAutomation) =>
    call<Automation>({ op: 'create_automation', auth: true, write: true, body, http: { method: 'POST', path: `/automations` } }),

  /** What a cron pattern means and its next times. */
  previewSchedule: (query: ScheduleQuery) =>
    call<SchedulePreview>({ op: 'preview_schedule', auth: true, write: false, query, http: { method: 'GET', path: `/automations/schedule` } }),

  /** One automation, with how many of its runs are left and how they went. */
  getAutomation: (id: string) =>
    call<Automation>({ op: 'get_automation', auth: true, write: false, id, http: { method: 'GET', path: `/automations/${enc(id)}` } }),

  /** A second technician's approval of each run of an automation. */
  approveAutomation: (id: string, body: ApproveAutomation) =>
    call<Automation>({ op: 'approve_automation', auth: true, write: true, id, body, http: { method: 'POST', path: `/automations/${enc(id)}/approve` } }),

  /** Stops an automation: none of its runs signed ahead starts. */
  cancelAutomation: (id: string) =>
    call<Automation>({ op: 'cancel_automation', auth: true, write: true, id, http: { method: 'POST', path: `/automations/${enc(id)}/cancel` } }),

  /** The organisation's root public key (if made) and revocation list number. */
  trustState: () =>
    call<TrustState>({ op: 'trust_state', auth: true, write: false, http: { method: 'GET', path: `/trust` } }),

  /** Hands the organisation over to a new root, signed by the current one (admins). */
  rotateTrustRoot: (body: NewRootRotation) =>
    call<TrustState>({ op: 'rotate_trust_root', auth: true, write: true, body, http: { method: 'POST', path: `/trust/rotations` } }),

  /** Sets when runs and automations wait for a second technician (admins). */
  setTwoPersonRule: (body: TwoPersonRule) =>
    call<TrustState>({ op: 'set_two_person_rule', auth: true, write: true, body, http: { method: 'PUT', path: `/trust/two-person-rule` } }),

  /** Registers the organisation's root public key (admins, once). */
  setTrustRoot: (body: NewTrustRoot) =>
    call<TrustRoot>({ op: 'set_trust_root', auth: true, write: true, body, http: { method: 'POST', path: `/trust/root` } }),

  /** Technician certificates (admins see all; others their own). */
  listCertificates: () =>
    call<TechnicianCertificate[]>({ op: 'list_certificates', auth: true, write: false, http: { method: 'GET', path: `/trust/certificates` } }),

  /** Stores a technician certificate the root signed (admins). */
  addCertificate: (body: NewCertificate) =>
    call<TechnicianCertificate>({ op: 'add_certificate', auth: true, write: true, body, http: { method: 'POST', path: `/trust/certificates` } }),

  /** Asks for this technician's signing key to be certified. */
  requestCertificate: (body: NewCertificateRequest) =>
    call<CertificateRequest>({ op: 'request_certificate', auth: true, write: true, body, http: { method: 'POST', path: `/trust/certificate-requests` } }),

  /** Keys waiting to be certified (admins see all; others their own). */
  listCertificateRequests: () =>
    call<CertificateRequest[]>({ op: 'list_certificate_requests', auth: true, write: false, http: { method: 'GET', path: `/trust/certificate-requests` } }),

  /** The newest root-signed revocation list. */
  revocationState: () =>
    call<RevocationState>({ op: 'revocation_state', auth: true, write: false, http: { method: 'GET', path: `/trust/revocations` } }),

  /** Stores a newer root-signed revocation list (admins). */
  addRevocationList: (body: NewRevocationList) =>
    call<RevocationState>({ op: 'add_revocation_list', auth: true, write: true, body, http: { method: 'POST', path: `/trust/revocations` } }),

  /** The queue: filters, sort, full-text search, a page. */
  listTickets: (query: TicketQuery) =>
    call<TicketPage>({ op: 'list_tickets', auth: true, write: false, query, http: { method: 'GET', path: `/tickets` } }),

  /** Opens a ticket. */
  createTicket: (body: NewTicket) =>
    call<Ticket>({ op: 'create_ticket', auth: true, write: true, body, http: { method: 'POST', path: `/tickets` } }),

  /** A ticket with its comments, time, history and conflicts. */
  getTicket: (id: string) =>
    call<TicketDetail>({ op: 'get_ticket', auth: true, write: false, id, http: { method: 'GET', path: `/tickets/${enc(id)}` } }),

  /** Changes a ticket's fields. */
  updateTicket: (id: string, body: UpdateTicket) =>
    call<Ticket>({ op: 'update_ticket', auth: true, write: true, id, body, http: { method: 'PATCH', path: `/tickets/${enc(id)}` } }),

  /** Adds a public reply or an internal note. */
  addComment: (id: string, body: NewComment) =>
    call<Comment>({ op: 'add_comment', auth: true, write: true, id, body, http: { method: 'POST', path: `/tickets/${enc(id)}/comments` } }),

  /** Records time spent on a ticket. */
  addTimeEntry: (id: string, body: NewTimeEntry) =>
    call<TimeEntry>({ op: 'add_time_entry', auth: true, write: true, id, body, http: { method: 'POST', path: `/tickets/${enc(id)}/time-entries` } }),

  /** Every tag in use. */
  listTags: () =>
    call<string[]>({ op: 'list_tags', auth: true, write: false, http: { method: 'GET', path: `/tags` } }),

  /** Saved queue views. */
  listViews: () =>
    call<SavedView[]>({ op: 'list_views', auth: true, write: false, http: { method: 'GET', path: `/views` } }),

  /** Saves a queue view. */
  createView: (body: NewSavedView) =>
    call<SavedView>({ op: 'create_view', auth: true, write: true, body, http: { method: 'POST', path: `/views` } }),

  /** Deletes a saved view of one's own. */
  deleteView: (id: string) =>
    call<null>({ op: 'delete_view', auth: true, write: true, id, http: { method: 'DELETE', path: `/views/${enc(id)}` } }),

  /** How many tickets each queue view holds. */
  queueCounts: () =>
    call<QueueCounts>({ op: 'queue_counts', auth: true, write: false, http: { method: 'GET', path: `/queue-counts` } }),

  /** Response and resolution targets per priority. */
  getSlaPolicy: () =>
    call<SlaPolicy>({ op: 'get_sla_policy', auth: true, write: false, http: { method: 'GET', path: `/sla-policy` } }),

  /** Changes the SLA policy (admins). */
  setSlaPolicy: (body: SlaPolicy) =>
    call<SlaPolicy>({ op: 'set_sla_policy', auth: true, write: true, body, http: { method: 'PUT', path: `/sla-policy` } }),

  /** Loads the demo MSP into an empty store (admins). */
  loadDemo: () =>
    call<DemoSummary>({ op: 'load_demo', auth: true, write: true, http: { method: 'POST', path: `/demo` } }),

  /** The organisation's outgoing mail server (admins; the password is never shown). (answered by the server; the desktop app refuses it) */
  smtpSettings: () =>
    call<SmtpSettings>({ op: 'smtp_settings', auth: true, write: false, http: { method: 'GET', path: `/mail/smtp` } }),

  /** Sets the outgoing mail server and the From address (admins). (answered by the server; the desktop app refuses it) */
  setSmtpSettings: (body: SetSmtpSettings) =>
    call<SmtpSettings>({ op: 'set_smtp_settings', auth: true, write: true, body, http: { method: 'PUT', path: `/mail/smtp` } }),

  /** Sends a test mail now; says in words which step failed (admins). (answered by the server; the desktop app refuses it) */
  testSmtp: (body: SmtpTestRequest) =>
    call<SmtpTestResult>({ op: 'test_smtp', auth: true, write: true, body, http: { method: 'POST', path: `/mail/smtp/test` } }),

  /** The reply, acknowledgement and resolved mail templates. (answered by the server; the desktop app refuses it) */
  listMailTemplates: () =>
    call<MailTemplate[]>({ op: 'list_mail_templates', auth: true, write: false, http: { method: 'GET', path: `/mail/templates` } }),

  /** Changes a mail template (admins). (answered by the server; the desktop app refuses it) */
  setMailTemplate: (body: SetMailTemplate) =>
    call<MailTemplate>({ op: 'set_mail_template', auth: true, write: true, body, http: { method: 'PUT', path: `/mail/templates` } }),

  /** A template filled in for a ticket, as the client would read it. (answered by the server; the desktop app refuses it) */
  previewMailTemplate: (body: PreviewMailTemplate) =>
    call<MailPreview>({ op: 'preview_mail_template', auth: true, write: true, body, http: { method: 'POST', path: `/mail/templates/preview` } }),

  /** Mail the desk sent or is sending, newest first, with its state. (answered by the server; the desktop app refuses it) */
  listOutbox: (query: OutboxQuery) =>
    call<OutboxPage>({ op: 'list_outbox', auth: true, write: false, query, http: { method: 'GET', path: `/mail/outbox` } }),

  /** Sends an unsure or failed mail again, or marks it sent (admins). (answered by the server; the desktop app refuses it) */
  decideOutboxMail: (id: string, body: DecideOutboxMail) =>
    call<OutboxMail>({ op: 'decide_outbox_mail', auth: true, write: true, id, body, http: { method: 'POST', path: `/mail/outbox/${enc(id)}/decide` } }),

  /** The IMAP mailboxes the desk reads, with what each took and its last error (admins). (answered by the server; the desktop app refuses it) */
  listMailboxes: () =>
    call<Mailbox[]>({ op: 'list_mailboxes', auth: true, write: false, http: { method: 'GET', path: `/mail/mailboxes` } }),

  /** Reads an IMAP mailbox: new mail becomes tickets, replies comments (admins). (answered by the server; the desktop app refuses it) */
  createMailbox: (body: NewMailbox) =>
    call<Mailbox>({ op: 'create_mailbox', auth: true, write: true, body, http: { method: 'POST', path: `/mail/mailboxes` } }),

  /** Stops reading a mailbox (admins). (answered by the server; the desktop app refuses it) */
  deleteMailbox: (id: string) =>
    call<null>({ op: 'delete_mailbox', auth: true, write: true, id, http: { method: 'DELETE', path: `/mail/mailboxes/${enc(id)}` } }),

  /** Who wrote a mailed-in ticket, when they are not a contact yet. (answered by the server; the desktop app refuses it) */
  ticketMailSender: (id: string) =>
    call<MailSender>({ op: 'ticket_mail_sender', auth: true, write: false, id, http: { method: 'GET', path: `/tickets/${enc(id)}/mail-sender` } }),

  /** Adds the unknown sender of a mailed-in ticket as a contact of its client. (answered by the server; the desktop app refuses it) */
  addMailSenderAsContact: (id: string) =>
    call<Contact>({ op: 'add_mail_sender_as_contact', auth: true, write: true, id, http: { method: 'POST', path: `/tickets/${enc(id)}/sender-contact` } }),

  /** My newest notifications, with how many are unread. (answered by the server; the desktop app refuses it) */
  listNotifications: () =>
    call<NotificationList>({ op: 'list_notifications', auth: true, write: false, http: { method: 'GET', path: `/notifications` } }),

  /** Marks some of my notifications, or all, read. (answered by the server; the desktop app refuses it) */
  markNotificationsRead: (body: MarkNotificationsRead) =>
    call<NotificationList>({ op: 'mark_notifications_read', auth: true, write: true, body, http: { method: 'POST', path: `/notifications/read` } }),

  /** What I am told about, in the app and by mail. (answered by the server; the desktop app refuses it) */
  notificationPrefs: () =>
    call<NotificationPrefs>({ op: 'notification_prefs', auth: true, write: false, http: { method: 'GET', path: `/notifications/preferences` } }),

  /** Sets what I am told about, in the app and by mail. (answered by the server; the desktop app refuses it) */
  setNotificationPrefs: (body: NotificationPrefs) =>
    call<NotificationPrefs>({ op: 'set_notification_prefs', auth: true, write: true, body, http: { method: 'PUT', path: `/notifications/preferences` } }),

  /** A page of the audit log, newest first, filtered by who, what, client, record and time (admins). */
  listAudit: (query: AuditQuery) =>
    call<AuditPage>({ op: 'list_audit', auth: true, write: false, query, http: { method: 'GET', path: `/audit` } }),

  /** Recomputes the audit chain from its first event and names the first broken link, if any (admins). */
  verifyAudit: () =>
    call<AuditVerification>({ op: 'verify_audit', auth: true, write: false, http: { method: 'GET', path: `/audit/verify` } }),

  /** Backs this console's store up into its backups folder (the newest ten are kept), as `outpost-server backup` does (admins). (desktop app only) */
  backupHere: () =>
    call<StoreBackup>({ op: 'backup_here', auth: true, write: false }),

  /** Makes an API key with a role, clients and an expiry; the answer carries the key this once (admins). (answered by the server; the desktop app refuses it) */
  createApiKey: (body: NewApiKey) =>
    call<CreatedApiKey>({ op: 'create_api_key', auth: true, write: true, body, http: { method: 'POST', path: `/api-keys` } }),

  /** Every API key, newest first, with its last use (admins). (answered by the server; the desktop app refuses it) */
  listApiKeys: () =>
    call<ApiKey[]>({ op: 'list_api_keys', auth: true, write: false, http: { method: 'GET', path: `/api-keys` } }),

  /** Revokes an API key at once (admins). (answered by the server; the desktop app refuses it) */
  revokeApiKey: (id: string) =>
    call<null>({ op: 'revoke_api_key', auth: true, write: true, id, http: { method: 'DELETE', path: `/api-keys/${enc(id)}` } }),

  /** The server's scheduled backups: folder, how often, how many kept, the last outcome (admins). (answered by the server; the desktop app refuses it) */
  backupSchedule: () =>
    call<BackupSchedule>({ op: 'backup_schedule', auth: true, write: false, http: { method: 'GET', path: `/settings/backups` } }),

  /** Sets the scheduled backups; the folder must be absolute and writable (admins). (answered by the server; the desktop app refuses it) */
  setBackupSchedule: (body: BackupSchedule) =>
    call<BackupSchedule>({ op: 'set_backup_schedule', auth: true, write: true, body, http: { method: 'PUT', path: `/settings/backups` } }),

  /** The desk and the fleet for a period of days (the organisation's time zone), for every client or one. */
  dashboard: (query: DashboardQuery) =>
    call<Dashboard>({ op: 'dashboard', auth: true, write: false, query, http: { method: 'GET', path: `/dashboard` } }),

  /** One dashboard chart (tickets or alerts per day, SLA by priority) as SVG, with the parts a click opens. */
  dashboardChart: (query: DashboardChartQuery) =>
    call<DashboardChart>({ op: 'dashboard_chart', auth: true, write: false, query, http: { method: 'GET', path: `/dashboard/chart` } }),

  /** The dashboard and all its charts for a period, from one count (what the console shows). */
  dashboardCharts: (query: DashboardChartsQuery) =>
    call<DashboardWithCharts>({ op: 'dashboard_charts', auth: true, write: false, query, http: { method: 'GET', path: `/dashboard/charts` } }),

  /** A client's service report for a period: its pages as images, and its figures. */
  clientReportPreview: (id: string, query: ClientReportQuery) =>
    call<ClientReportPreview>({ op: 'client_report_preview', auth: true, write: false, id, query, http: { method: 'GET', path: `/reports/clients/${enc(id)}/preview` } }),

  /** A client's service report as a file (base64): the PDF, or one table as CSV. (desktop app only) */
  clientReportDownload: (id: string, query: ClientReportFileQuery) =>
    call<ReportFile>({ op: 'client_report_download', auth: true, write: false, id, query }),

  /** Which sections a client's report prints. */
  clientReportSettings: (id: string) =>
    call<ClientReportSettings>({ op: 'client_report_settings', auth: true, write: false, id, http: { method: 'GET', path: `/clients/${enc(id)}/report-settings` } }),

  /** Switches sections of a client's report on or off. */
  setClientReportSettings: (id: string, body: SetClientReportSettings) =>
    call<ClientReportSettings>({ op: 'set_client_report_settings', auth: true, write: true, id, body, http: { method: 'PUT', path: `/clients/${enc(id)}/report-settings` } }),

  /** A client's report schedule: the day each month, the recipients. */
  reportSchedule: (id: string) =>
    call<ReportSchedule>({ op: 'report_schedule', auth: true, write: false, id, http: { method: 'GET', path: `/clients/${enc(id)}/report-schedule` } }),

  /** Sets a client's report schedule (server: the mail goes from its outbox). */
  setReportSchedule: (id: string, body: SetReportSchedule) =>
    call<ReportSchedule>({ op: 'set_report_schedule', auth: true, write: true, id, body, http: { method: 'PUT', path: `/clients/${enc(id)}/report-schedule` } }),

  /** A client's kept reports, newest period first. */
  listReportHistory: (id: string) =>
    call<ReportHistoryEntry[]>({ op: 'list_report_history', auth: true, write: false, id, http: { method: 'GET', path: `/clients/${enc(id)}/reports` } }),

  /** A kept report's PDF (base64); over HTTP: GET /reports/history/{id}. (desktop app only) */
  reportHistoryDownload: (id: string) =>
    call<ReportFile>({ op: 'report_history_download', auth: true, write: false, id }),

  /** How billable time becomes money: rates, rounding, minimum (admins). */
  billingSettings: () =>
    call<BillingSettings>({ op: 'billing_settings', auth: true, write: false, http: { method: 'GET', path: `/settings/billing` } }),

  /** Sets the rates, rounding and minimum of the billing export (admins). */
  setBillingSettings: (body: BillingSettings) =>
    call<BillingSettings>({ op: 'set_billing_settings', auth: true, write: true, body, http: { method: 'PUT', path: `/settings/billing` } }),

  /** The billing export (base64 CSV); over HTTP: GET /billing/export. (desktop app only) */
  billingExportDownload: (query: BillingExportQuery) =>
    call<ReportFile>({ op: 'billing_export_download', auth: true, write: false, query }),

  /** The MSP's name and logo printed on reports. */
  reportBranding: () =>
    call<ReportBranding>({ op: 'report_branding', auth: true, write: false, http: { method: 'GET', path: `/settings/reports` } }),

  /** Sets the MSP's name and logo printed on reports (admins). */
  setReportBranding: (body: SetReportBranding) =>
    call<ReportBranding>({ op: 'set_report_branding', auth: true, write: true, body, http: { method: 'PUT', path: `/settings/reports` } }),

  /** A ticket's files, oldest first. */
  listAttachments: (id: string) =>
    call<Attachment[]>({ op: 'list_attachments', auth: true, write: false, id, http: { method: 'GET', path: `/tickets/${enc(id)}/attachments` } }),

  /** Attaches a file (base64) to a ticket or one of its comments. (desktop app only) */
  uploadAttachment: (body: NewAttachment) =>
    call<Attachment>({ op: 'upload_attachment', auth: true, write: true, body }),

  /** A file with its bytes (base64); fetched from the server on first open. (desktop app only) */
  attachmentContent: (id: string) =>
    call<AttachmentContent>({ op: 'attachment_content', auth: true, write: false, id }),

  /** How large a file may be attached (admins). */
  attachmentSettings: () =>
    call<AttachmentSettings>({ op: 'attachment_settings', auth: true, write: false, http: { method: 'GET', path: `/settings/attachments` } }),

  /** Sets how large a file may be attached (admins). */
  setAttachmentSettings: (body: AttachmentSettings) =>
    call<AttachmentSettings>({ op: 'set_attachment_settings', auth: true, write: true, body, http: { method: 'PUT', path: `/settings/attachments` } }),

  /** Webhook subscriptions with their delivery counts (admins). (answered by the server; the desktop app refuses it) */
  listWebhooks: () =>
    call<Webhook[]>({ op: 'list_webhooks', auth: true, write: false, http: { method: 'GET', path: `/webhooks` } }),

  /** Subscribes a URL to events; the signing secret is shown once (admins). (answered by the server; the desktop app refuses it) */
  createWebhook: (body: NewWebhook) =>
    call<Webhook>({ op: 'create_webhook', auth: true, write: true, body, http: { method: 'POST', path: `/webhooks` } }),

  /** Removes a subscription and what it still had to send (admins). (answered by the server; the desktop app refuses it) */
  deleteWebhook: (id: string) =>
    call<null>({ op: 'delete_webhook', auth: true, write: true, id, http: { method: 'DELETE', path: `/webhooks/${enc(id)}` } }),

  /** Deliveries that failed every try, with the last answer seen (admins). (answered by the server; the desktop app refuses it) */
  listDeadLetters: () =>
    call<DeadLetter[]>({ op: 'list_dead_letters', auth: true, write: false, http: { method: 'GET', path: `/webhooks/dead-letters` } }),

  /** Sends a dead delivery again, after what is queued (admins). (answered by the server; the desktop app refuses it) */
  replayDeadLetter: (id: string) =>
    call<null>({ op: 'replay_dead_letter', auth: true, write: true, id, http: { method: 'POST', path: `/webhooks/dead-letters/${enc(id)}/replay` } }),

  /** Takes a batch of a console's changes. (answered by the server; the desktop app refuses it) */
  syncPush: (body: PushRequest) =>
    call<PushResponse>({ op: 'sync_push', auth: true, write: true, body, http: { method: 'POST', path: `/sync/push` } }),

  /** A page of the change log. (answered by the server; the desktop app refuses it) */
  syncPull: (query: PullQuery) =>
    call<PullPage>({ op: 'sync_pull', auth: true, write: false, query, http: { method: 'GET', path: `/sync/pull` } }),

  /** Where this store stands with its server. */
  syncStatus: () =>
    call<SyncStatus>({ op: 'sync_status', auth: true, write: false, http: { method: 'GET', path: `/sync/status` } }),

  /** A digest per record type, to compare stores. (answered by the server; the desktop app refuses it) */
  syncChecksums: (query: ChecksumQuery) =>
    call<EntityChecksum[]>({ op: 'sync_checksums', auth: true, write: false, query, http: { method: 'GET', path: `/sync/checksums` } }),

  /** A page of the current records of one type (a console's first sync). (answered by the server; the desktop app refuses it) */
  syncSnapshot: (query: SnapshotQuery) =>
    call<SnapshotPage>({ op: 'sync_snapshot', auth: true, write: false, query, http: { method: 'GET', path: `/sync/snapshot` } }),

  /** Marks a sync conflict as dealt with. */
  resolveConflict: (id: string) =>
    call<null>({ op: 'resolve_conflict', auth: true, write: true, id, http: { method: 'POST', path: `/conflicts/${enc(id)}/resolve` } }),

  /** What connecting this console to a server would upload. (desktop app only) */
  connectPreview: () =>
    call<ConnectPreview>({ op: 'connect_preview', auth: true, write: false }),

  /** The certificate an https server presents, to compare before trusting it. (desktop app only) */
  serverFingerprint: (body: ServerAddress) =>
    call<string>({ op: 'server_fingerprint', auth: true, write: false, body }),

  /** Connects this console to a server, uploads its data and syncs. (desktop app only) */
  connectServer: (body: ConnectRequest) =>
    call<Session>({ op: 'connect_server', auth: true, write: false, body }),

  /** Back to standalone; the data stays here. (desktop app only) */
  disconnectServer: () =>
    call<SyncStatus>({ op: 'disconnect_server', auth: true, write: false }),

  /** Whether this console serves its own agents, and where. (desktop app only) */
  desktopGateway: () =>
    call<DesktopGateway>({ op: 'desktop_gateway', auth: true, write: false }),

  /** Turns this console's agent gateway on or off (admins). (desktop app only) */
  setDesktopGateway: (body: SetDesktopGateway) =>
    call<DesktopGateway>({ op: 'set_desktop_gateway', auth: true, write: false, body }),

  /** Whether this console can sign runs, and what to do if not. (desktop app only) */
  signingStatus: () =>
    call<SigningStatus>({ op: 'signing_status', auth: true, write: false }),

  /** Makes the organisation's root key (once) and this admin's signing key. (desktop app only) */
  setupSigning: (body: SetupSigning) =>
    call<SigningSetUp>({ op: 'setup_signing', auth: true, write: false, body }),

  /** Makes this technician's signing key here and asks an admin to certify it. (desktop app only) */
  requestSigningKey: () =>
    call<SigningStatus>({ op: 'request_signing_key', auth: true, write: false }),

  /** Certifies a technician's key with the root in this console's keyring (admins). (desktop app only) */
  certifyRequest: (body: CertifyRequest) =>
    call<TechnicianCertificate>({ op: 'certify_request', auth: true, write: false, body }),

  /** Revokes a technician's key with the root in this console's keyring (admins). (desktop app only) */
  revokeCertificate: (body: RevokeCertificate) =>
    call<RevocationState>({ op: 'revoke_certificate', auth: true, write: false, body }),

  /** Approves a run with this technician's key from the OS keyring. (desktop app only) */
  approveRunHere: (body: ApproveRunHere) =>
    call<Run>({ op: 'approve_run_here', auth: true, write: false, body }),

  /** Signs a library script for each endpoint with this technician's key and sends the runs. (desktop app only) */
  signRuns: (body: SignRuns) =>
    call<Run[]>({ op: 'sign_runs', auth: true, write: false, body }),

  /** Hands the organisation over to a new root made here, signed by the root in this keyring (admins). (desktop app only) */
  rotateRoot: (body: SetupSigning) =>
    call<SigningSetUp>({ op: 'rotate_root', auth: true, write: false, body }),

  /** Signs an automation's runs ahead with this technician's key and sends it. (desktop app only) */
  signAutomation: (body: SignAutomation) =>
    call<Automation>({ op: 'sign_automation', auth: true, write: false, body }),

  /** Approves every run of an automation with this technician's key. (desktop app only) */
  approveAutomationHere: (body: ApproveAutomationHere) =>
    call<Automation>({ op: 'approve_automation_here', auth: true, write: false, body }),

  /** One sync round now; a failure shows in the status. (desktop app only) */
  syncNow: () =>
    call<SyncStatus>({ op: 'sync_now', auth: true, write: false }),
};
