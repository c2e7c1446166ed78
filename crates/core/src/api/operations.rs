//! The operation table: every operation of Outpost, once. Add an operation here (and its
//! core function in its domain module); the route, the OpenAPI entry, the desktop command
//! and the TypeScript method follow from it.

use super::{op, Operation, Shape};
use outpost_proto::*;
use std::sync::OnceLock;

/// Every operation, in the order the OpenAPI document and the TypeScript client list them.
pub fn operations() -> &'static [Operation] {
    static TABLE: OnceLock<Vec<Operation>> = OnceLock::new();
    TABLE.get_or_init(table)
}

fn table() -> Vec<Operation> {
    vec![
        // ---- session and accounts
        op("health", "Whether the service answers, and its version.")
            .get("/health")
            .public()
            .run(|_, _| async {
                Ok(Health {
                    status: "ok".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                })
            }),
        op("setup_state", "Whether this store still needs its first admin.")
            .get("/setup")
            .public()
            .run(|core, _| async move { core.setup_state().await }),
        op("create_first_admin", "Creates the first admin (first run only).")
            .post("/setup")
            .public()
            .also(&[409])
            .body(|core, _, req: FirstAdminRequest| async move { core.create_first_admin(req).await }),
        op("login", "Logs in; the answer carries the bearer token.")
            .post("/auth/login")
            .public()
            .also(&[401, 429])
            .body(|core, who, req: LoginRequest| async move {
                core.login_from(req, who.address, who.device.as_deref()).await
            }),
        op("logout", "Ends the session the request carries.")
            .post("/auth/logout")
            .public()
            .no_content()
            .run(|core, who| async move {
                match who.token.as_deref() {
                    Some(t) => core.logout(t).await,
                    None => Ok(()),
                }
            }),
        op("me", "The person logged in.")
            .get("/me")
            .run(|core, who| async move { core.current_user(who.actor()?).await }),
        op("list_my_sessions", "Your sessions: the device and address each was opened from and when it was last used.")
            .get("/me/sessions")
            .run(|core, who| async move { core.list_my_sessions(who.actor()?, who.token.as_deref()).await }),
        op("end_my_session", "Ends one of your sessions (another device, or this one).")
            .delete("/me/sessions/{id}")
            .no_content()
            .id(|core, who, id| async move { core.end_my_session(who.actor()?, id).await }),
        op("list_users", "Everyone in the organisation.")
            .get("/users")
            .run(|core, who| async move { core.list_users(who.actor()?).await }),
        op("create_user", "Adds a person (admins).")
            .post("/users")
            .admin()
            .created()
            .also(&[409])
            .body(|core, who, req: NewUser| async move { core.create_user(who.actor()?, req).await }),
        op("set_user_clients", "Limits a technician or viewer to some clients, or to none (admins).")
            .put("/users/{id}/clients")
            .admin()
            .id_body(|core, who, id, req: UserClients| async move {
                core.set_user_clients(who.actor()?, id, req.clients).await
            }),
        // ---- clients, sites, contacts
        op("list_clients", "The clients this person may see.")
            .get("/clients")
            .run(|core, who| async move { core.list_clients(who.actor()?).await }),
        op("create_client", "Adds a client.")
            .post("/clients")
            .writer()
            .created()
            .also(&[409])
            .body(|core, who, req: NewClient| async move { core.create_client(who.actor()?, req).await }),
        op("get_client", "A client with its sites and contacts.")
            .get("/clients/{id}")
            .id(|core, who, id| async move { core.get_client(who.actor()?, id).await }),
        op("update_client", "Renames a client or edits its notes.")
            .patch("/clients/{id}")
            .writer()
            .also(&[409])
            .id_body(|core, who, id, req: UpdateClient| async move {
                core.update_client(who.actor()?, id, req).await
            }),
        op("create_site", "Adds a site to a client.")
            .post("/clients/{id}/sites")
            .writer()
            .created()
            .id_body(|core, who, id, req: NewSite| async move {
                core.create_site(who.actor()?, id, req).await
            }),
        op("create_contact", "Adds a contact to a client.")
            .post("/clients/{id}/contacts")
            .writer()
            .created()
            .id_body(|core, who, id, req: NewContact| async move {
                core.create_contact(who.actor()?, id, req).await
            }),
        op("update_site", "Edits a site.")
            .patch("/sites/{id}")
            .writer()
            .id_body(|core, who, id, req: UpdateSite| async move {
                core.update_site(who.actor()?, id, req).await
            }),
        op("update_contact", "Edits a contact.")
            .patch("/contacts/{id}")
            .writer()
            .id_body(|core, who, id, req: UpdateContact| async move {
                core.update_contact(who.actor()?, id, req).await
            }),
        // ---- fleet
        op("list_assets", "Devices, filtered by client, site, kind or text.")
            .get("/assets")
            .query(|core, who, q: AssetQuery| async move { core.list_assets(who.actor()?, &q).await }),
        op("get_asset", "One device, with its inventory, its changes and its agent.")
            .get("/assets/{id}")
            .id(|core, who, id| async move { core.get_asset_detail(who.actor()?, id).await }),
        op("fleet_counts", "Endpoints per health state and per client.")
            .get("/fleet-counts")
            .run(|core, who| async move { core.fleet_counts(who.actor()?).await }),
        op("asset_metrics", "One series of an endpoint's metrics over a range.")
            .get("/assets/{id}/metrics")
            .id_query(|core, who, id, q: MetricsQuery| async move {
                core.asset_metrics(who.actor()?, id, &q).await
            }),
        op("asset_chart", "One series of an endpoint's metrics drawn as a chart (SVG), thresholds shown.")
            .get("/assets/{id}/chart")
            .id_query(|core, who, id, q: ChartQuery| async move {
                core.asset_chart(who.actor()?, id, &q).await
            }),
        op("confirm_agent_root", "Confirms the signing root an agent took on first use (admins).")
            .post("/assets/{id}/confirm-root")
            .admin()
            .also(&[409])
            .id(|core, who, id| async move { core.confirm_agent_root(who.actor()?, id).await }),
        op("revoke_agent", "Cuts an endpoint's agent off; it must enroll again (admins).")
            .post("/assets/{id}/revoke-agent")
            .admin()
            .no_content()
            .also(&[409])
            .id(|core, who, id| async move { core.revoke_agent(who.actor()?, id).await }),
        op("list_alerts", "Alerts, firing first: filter by state, endpoint, client, kind.")
            .get("/alerts")
            .query(|core, who, q: AlertQuery| async move { core.list_alerts(who.actor()?, &q).await }),
        op("acknowledge_alert", "Says someone is on an alert.")
            .post("/alerts/{id}/acknowledge")
            .writer()
            .id(|core, who, id| async move { core.acknowledge_alert(who.actor()?, id).await }),
        op("list_alert_rules", "The organisation's alert rules and the clients' overrides.")
            .get("/alert-rules")
            .run(|core, who| async move { core.list_alert_rules(who.actor()?).await }),
        op("create_alert_rule", "Adds an alert rule, or a client's override of one (admins).")
            .post("/alert-rules")
            .admin()
            .created()
            .also(&[404])
            .body(|core, who, req: NewAlertRule| async move {
                core.create_alert_rule(who.actor()?, req).await
            }),
        op("update_alert_rule", "Changes an alert rule's threshold, samples, priority… (admins).")
            .patch("/alert-rules/{id}")
            .admin()
            .id_body(|core, who, id, req: UpdateAlertRule| async move {
                core.update_alert_rule(who.actor()?, id, req).await
            }),
        op("list_enrollment_tokens", "Enrollment tokens, newest first (admins).")
            .get("/enrollment-tokens")
            .admin()
            .run(|core, who| async move { core.list_enrollment_tokens(who.actor()?).await }),
        op("create_enrollment_token", "Lets machines join a client (admins); the secret is shown once.")
            .post("/enrollment-tokens")
            .admin()
            .created()
            .also(&[404])
            .body(|core, who, req: NewEnrollmentToken| async move {
                core.create_enrollment_token(who.actor()?, req).await
            }),
        op("revoke_enrollment_token", "Stops an enrollment token from letting more machines in (admins).")
            .post("/enrollment-tokens/{id}/revoke")
            .admin()
            .id(|core, who, id| async move { core.revoke_enrollment_token(who.actor()?, id).await }),
        op("gateway_info", "What an agent needs to reach this server (its address and certificate).")
            .get("/agent-gateway")
            .server()
            .run(|core, who| async move {
                who.actor()?;
                Ok(core.gateway_info())
            }),
        op("enroll_agent", "An agent joins with an enrollment token (called by outpost-agent).")
            .post("/agent/enroll")
            .public()
            .server()
            .also(&[401])
            .body(|core, _, req: EnrollRequest| async move { core.enroll_agent(req).await }),
        op("create_asset", "Records a device.")
            .post("/assets")
            .writer()
            .created()
            .also(&[404])
            .body(|core, who, req: NewAsset| async move { core.create_asset(who.actor()?, req).await }),
        op("update_asset", "Edits a device.")
            .patch("/assets/{id}")
            .writer()
            .id_body(|core, who, id, req: UpdateAsset| async move {
                core.update_asset(who.actor()?, id, req).await
            }),
        // ---- remote scripts
        op("list_scripts", "The script library (the starter scripts included), by name.")
            .get("/scripts")
            .run(|core, who| async move { core.list_scripts(who.actor()?).await }),
        op("create_script", "Adds a script to the library (its version 1).")
            .post("/scripts")
            .writer()
            .created()
            .body(|core, who, req: NewScript| async move { core.create_script(who.actor()?, req).await }),
        op("get_script", "One script and its current version.")
            .get("/scripts/{id}")
            .id(|core, who, id| async move { core.get_script(who.actor()?, id).await }),
        op("update_script", "Edits a script: a new version (runs keep the version they ran).")
            .patch("/scripts/{id}")
            .writer()
            .id_body(|core, who, id, req: NewScript| async move {
                core.update_script(who.actor()?, id, req).await
            }),
        op("script_versions", "Every version of a script, newest first.")
            .get("/scripts/{id}/versions")
            .id(|core, who, id| async move { core.script_versions(who.actor()?, id).await }),
        op("create_runs", "Takes signed run requests (one per endpoint); all are stored or none.")
            .post("/runs")
            .writer()
            .created()
            .also(&[404])
            .body(|core, who, req: NewRuns| async move { core.create_runs(who.actor()?, req).await }),
        op("list_runs", "Runs, newest first: filter by endpoint and state.")
            .get("/runs")
            .query(|core, who, q: RunQuery| async move { core.list_runs(who.actor()?, q).await }),
        op("get_run", "One run: state, exit code, output, times, who signed it.")
            .get("/runs/{id}")
            .id(|core, who, id| async move { core.get_run(who.actor()?, id).await }),
        op("approve_run", "A second technician's approval of a run waiting for one.")
            .post("/runs/{id}/approve")
            .writer()
            .id_body(|core, who, id, req: ApproveRun| async move {
                core.approve_run(who.actor()?, id, req).await
            }),
        op("cancel_run", "Stops a run (its agent kills every process it started).")
            .post("/runs/{id}/cancel")
            .writer()
            .id(|core, who, id| async move { core.cancel_run(who.actor()?, id).await }),
        op("list_automations", "Automations (runs signed ahead for a schedule or an alert), newest first.")
            .get("/automations")
            .run(|core, who| async move { core.list_automations(who.actor()?).await }),
        op("create_automation", "Takes an automation and every run signed for it; all are stored or none.")
            .post("/automations")
            .writer()
            .created()
            .also(&[404, 409])
            .body(|core, who, req: NewAutomation| async move {
                core.create_automation(who.actor()?, req).await
            }),
        op("preview_schedule", "What a cron pattern means and its next times.")
            .get("/automations/schedule")
            .query(|core, who, q: ScheduleQuery| async move {
                who.actor()?;
                core.preview_schedule(&q)
            }),
        op("get_automation", "One automation, with how many of its runs are left and how they went.")
            .get("/automations/{id}")
            .id(|core, who, id| async move { core.get_automation(who.actor()?, id).await }),
        op("approve_automation", "A second technician's approval of each run of an automation.")
            .post("/automations/{id}/approve")
            .writer()
            .id_body(|core, who, id, req: ApproveAutomation| async move {
                core.approve_automation(who.actor()?, id, req).await
            }),
        op("cancel_automation", "Stops an automation: none of its runs signed ahead starts.")
            .post("/automations/{id}/cancel")
            .writer()
            .id(|core, who, id| async move { core.cancel_automation(who.actor()?, id).await }),
        op("trust_state", "The organisation's root public key (if made) and revocation list number.")
            .get("/trust")
            .run(|core, who| async move {
                who.actor()?;
                core.trust_state().await
            }),
        op("rotate_trust_root", "Hands the organisation over to a new root, signed by the current one (admins).")
            .post("/trust/rotations")
            .admin()
            .also(&[409])
            .body(|core, who, req: NewRootRotation| async move {
                core.rotate_trust_root(who.actor()?, req).await
            }),
        op("set_two_person_rule", "Sets when runs and automations wait for a second technician (admins).")
            .put("/trust/two-person-rule")
            .admin()
            .body(|core, who, req: TwoPersonRule| async move {
                core.set_two_person_rule(who.actor()?, req).await
            }),
        op("set_trust_root", "Registers the organisation's root public key (admins, once).")
            .post("/trust/root")
            .admin()
            .body(|core, who, req: NewTrustRoot| async move { core.set_trust_root(who.actor()?, req).await }),
        op("list_certificates", "Technician certificates (admins see all; others their own).")
            .get("/trust/certificates")
            .run(|core, who| async move { core.list_certificates(who.actor()?).await }),
        op("add_certificate", "Stores a technician certificate the root signed (admins).")
            .post("/trust/certificates")
            .admin()
            .created()
            .body(|core, who, req: NewCertificate| async move { core.add_certificate(who.actor()?, req).await }),
        op("request_certificate", "Asks for this technician's signing key to be certified.")
            .post("/trust/certificate-requests")
            .writer()
            .created()
            .body(|core, who, req: NewCertificateRequest| async move {
                core.request_certificate(who.actor()?, req).await
            }),
        op("list_certificate_requests", "Keys waiting to be certified (admins see all; others their own).")
            .get("/trust/certificate-requests")
            .run(|core, who| async move { core.list_certificate_requests(who.actor()?).await }),
        op("revocation_state", "The newest root-signed revocation list.")
            .get("/trust/revocations")
            .run(|core, who| async move {
                who.actor()?;
                core.revocation_state().await
            }),
        op("add_revocation_list", "Stores a newer root-signed revocation list (admins).")
            .post("/trust/revocations")
            .admin()
            .body(|core, who, req: NewRevocationList| async move {
                core.add_revocation_list(who.actor()?, req).await
            }),
        // ---- the desk
        op("list_tickets", "The queue: filters, sort, full-text search, a page.")
            .get("/tickets")
            .query(|core, who, q: TicketQuery| async move { core.list_tickets(who.actor()?, &q).await }),
        op("create_ticket", "Opens a ticket.")
            .post("/tickets")
            .writer()
            .created()
            .also(&[404])
            .body(|core, who, req: NewTicket| async move { core.create_ticket(who.actor()?, req).await }),
        op("get_ticket", "A ticket with its comments, time, history and conflicts.")
            .get("/tickets/{id}")
            .id(|core, who, id| async move { core.get_ticket(who.actor()?, id).await }),
        op("update_ticket", "Changes a ticket's fields.")
            .patch("/tickets/{id}")
            .writer()
            .also(&[409])
            .id_body(|core, who, id, req: UpdateTicket| async move {
                core.update_ticket(who.actor()?, id, req).await
            }),
        op("add_comment", "Adds a public reply or an internal note.")
            .post("/tickets/{id}/comments")
            .writer()
            .created()
            .id_body(|core, who, id, req: NewComment| async move {
                core.add_comment(who.actor()?, id, req).await
            }),
        op("add_time_entry", "Records time spent on a ticket.")
            .post("/tickets/{id}/time-entries")
            .writer()
            .created()
            .id_body(|core, who, id, req: NewTimeEntry| async move {
                core.add_time_entry(who.actor()?, id, req).await
            }),
        op("list_tags", "Every tag in use.")
            .get("/tags")
            .run(|core, who| async move { core.list_tags(who.actor()?).await }),
        op("list_views", "Saved queue views.")
            .get("/views")
            .run(|core, who| async move { core.list_views(who.actor()?).await }),
        op("create_view", "Saves a queue view.")
            .post("/views")
            .created()
            .body(|core, who, req: NewSavedView| async move { core.create_view(who.actor()?, req).await }),
        op("delete_view", "Deletes a saved view of one's own.")
            .delete("/views/{id}")
            .no_content()
            .id(|core, who, id| async move { core.delete_view(who.actor()?, id).await }),
        op("queue_counts", "How many tickets each queue view holds.")
            .get("/queue-counts")
            .run(|core, who| async move { core.queue_counts(who.actor()?).await }),
        op("get_sla_policy", "Response and resolution targets per priority.")
            .get("/sla-policy")
            .run(|core, _| async move { core.sla_policy().await }),
        op("set_sla_policy", "Changes the SLA policy (admins).")
            .put("/sla-policy")
            .admin()
            .body(|core, who, req: SlaPolicy| async move { core.set_sla_policy(who.actor()?, req).await }),
        op("load_demo", "Loads the demo MSP into an empty store (admins).")
            .post("/demo")
            .admin()
            .also(&[409])
            .run(|core, who| async move { core.load_demo(who.actor()?).await }),
        // ---- mail out (the server sends it)
        op("smtp_settings", "The organisation's outgoing mail server (admins; the password is never shown).")
            .get("/mail/smtp")
            .server()
            .admin()
            .run(|core, who| async move { core.smtp_settings(who.actor()?).await }),
        op("set_smtp_settings", "Sets the outgoing mail server and the From address (admins).")
            .put("/mail/smtp")
            .server()
            .admin()
            .body(|core, who, req: SetSmtpSettings| async move { core.set_smtp_settings(who.actor()?, req).await }),
        op("test_smtp", "Sends a test mail now; says in words which step failed (admins).")
            .post("/mail/smtp/test")
            .server()
            .admin()
            .body(|core, who, req: SmtpTestRequest| async move { core.test_smtp(who.actor()?, req).await }),
        op("list_mail_templates", "The reply, acknowledgement and resolved mail templates.")
            .get("/mail/templates")
            .server()
            .writer()
            .run(|core, who| async move { core.list_mail_templates(who.actor()?).await }),
        op("set_mail_template", "Changes a mail template (admins).")
            .put("/mail/templates")
            .server()
            .admin()
            .body(|core, who, req: SetMailTemplate| async move { core.set_mail_template(who.actor()?, req).await }),
        op("preview_mail_template", "A template filled in for a ticket, as the client would read it.")
            .post("/mail/templates/preview")
            .server()
            .writer()
            .body(|core, who, req: PreviewMailTemplate| async move { core.preview_mail_template(who.actor()?, req).await }),
        op("list_outbox", "Mail the desk sent or is sending, newest first, with its state.")
            .get("/mail/outbox")
            .server()
            .writer()
            .query(|core, who, q: OutboxQuery| async move { core.list_outbox(who.actor()?, &q).await }),
        op("decide_outbox_mail", "Sends an unsure or failed mail again, or marks it sent (admins).")
            .post("/mail/outbox/{id}/decide")
            .server()
            .admin()
            .also(&[409])
            .id_body(|core, who, id, req: DecideOutboxMail| async move {
                core.decide_outbox_mail(who.actor()?, id, req).await
            }),
        // ---- mail in (the server reads it)
        op("list_mailboxes", "The IMAP mailboxes the desk reads, with what each took and its last error (admins).")
            .get("/mail/mailboxes")
            .server()
            .admin()
            .run(|core, who| async move { core.list_mailboxes(who.actor()?).await }),
        op("create_mailbox", "Reads an IMAP mailbox: new mail becomes tickets, replies comments (admins).")
            .post("/mail/mailboxes")
            .server()
            .admin()
            .created()
            .also(&[409])
            .body(|core, who, req: NewMailbox| async move { core.create_mailbox(who.actor()?, req).await }),
        op("delete_mailbox", "Stops reading a mailbox (admins).")
            .delete("/mail/mailboxes/{id}")
            .server()
            .admin()
            .no_content()
            .id(|core, who, id| async move { core.delete_mailbox(who.actor()?, id).await }),
        op("ticket_mail_sender", "Who wrote a mailed-in ticket, when they are not a contact yet.")
            .get("/tickets/{id}/mail-sender")
            .server()
            .id(|core, who, id| async move { core.ticket_mail_sender(who.actor()?, id).await }),
        op("add_mail_sender_as_contact", "Adds the unknown sender of a mailed-in ticket as a contact of its client.")
            .post("/tickets/{id}/sender-contact")
            .server()
            .writer()
            .created()
            .also(&[409])
            .id(|core, who, id| async move { core.add_sender_as_contact(who.actor()?, id).await }),
        // ---- notifications (the server plans them)
        op("list_notifications", "My newest notifications, with how many are unread.")
            .get("/notifications")
            .server()
            .run(|core, who| async move { core.list_notifications(who.actor()?).await }),
        op("mark_notifications_read", "Marks some of my notifications, or all, read.")
            .post("/notifications/read")
            .server()
            .body(|core, who, req: MarkNotificationsRead| async move {
                core.mark_notifications_read(who.actor()?, req).await
            }),
        op("notification_prefs", "What I am told about, in the app and by mail.")
            .get("/notifications/preferences")
            .server()
            .run(|core, who| async move { core.notification_prefs(who.actor()?).await }),
        op("set_notification_prefs", "Sets what I am told about, in the app and by mail.")
            .put("/notifications/preferences")
            .server()
            .body(|core, who, req: NotificationPrefs| async move {
                core.set_notification_prefs(who.actor()?, req).await
            }),
        // ---- reports
        op("list_audit", "A page of the audit log, newest first, filtered by who, what, client, record and time (admins).")
            .get("/audit")
            .admin()
            .query(|core, who, q: AuditQuery| async move { core.list_audit(who.actor()?, &q).await }),
        op("verify_audit", "Recomputes the audit chain from its first event and names the first broken link, if any (admins).")
            .get("/audit/verify")
            .admin()
            .run(|core, who| async move { core.verify_audit(who.actor()?).await }),
        op("backup_here", "Backs this console's store up into its backups folder (the newest ten are kept), as `outpost-server backup` does (admins).")
            .admin()
            .run(|core, who| async move { core.backup_here(who.actor()?).await }),
        op("create_api_key", "Makes an API key with a role, clients and an expiry; the answer carries the key this once (admins).")
            .post("/api-keys")
            .server()
            .admin()
            .created()
            .also(&[404, 409])
            .body(|core, who, req: NewApiKey| async move { core.create_api_key(who.actor()?, req).await }),
        op("list_api_keys", "Every API key, newest first, with its last use (admins).")
            .get("/api-keys")
            .server()
            .admin()
            .run(|core, who| async move { core.list_api_keys(who.actor()?).await }),
        op("revoke_api_key", "Revokes an API key at once (admins).")
            .delete("/api-keys/{id}")
            .server()
            .admin()
            .no_content()
            .id(|core, who, id| async move { core.revoke_api_key(who.actor()?, id).await }),
        op("backup_schedule", "The server's scheduled backups: folder, how often, how many kept, the last outcome (admins).")
            .get("/settings/backups")
            .server()
            .admin()
            .run(|core, who| async move { core.backup_schedule(who.actor()?).await }),
        op("set_backup_schedule", "Sets the scheduled backups; the folder must be absolute and writable (admins).")
            .put("/settings/backups")
            .server()
            .admin()
            .body(|core, who, req: BackupSchedule| async move { core.set_backup_schedule(who.actor()?, req).await }),
        op("dashboard", "The desk and the fleet for a period of days (the organisation's time zone), for every client or one.")
            .get("/dashboard")
            .also(&[404])
            .query(|core, who, q: DashboardQuery| async move { core.dashboard(who.actor()?, &q).await }),
        op("dashboard_chart", "One dashboard chart (tickets or alerts per day, SLA by priority) as SVG, with the parts a click opens.")
            .get("/dashboard/chart")
            .also(&[404])
            .query(|core, who, q: DashboardChartQuery| async move { core.dashboard_chart(who.actor()?, &q).await }),
        op("dashboard_charts", "The dashboard and all its charts for a period, from one count (what the console shows).")
            .get("/dashboard/charts")
            .also(&[404])
            .query(|core, who, q: DashboardChartsQuery| async move { core.dashboard_charts(who.actor()?, &q).await }),
        // ---- client service reports (the PDF and CSV files over HTTP: outpost-server's
        // reports module, `GET /reports/clients/{client_id}`)
        op("client_report_preview", "A client's service report for a period: its pages as images, and its figures.")
            .get("/reports/clients/{id}/preview")
            .also(&[404, 503])
            .id_query(|core, who, id, q: ClientReportQuery| async move {
                core.client_report_preview(who.actor()?, id, &q).await
            }),
        op("client_report_download", "A client's service report as a file (base64): the PDF, or one table as CSV.")
            .also(&[404, 503])
            .id_query(|core, who, id, q: ClientReportFileQuery| async move {
                core.client_report_download(who.actor()?, id, &q).await
            }),
        op("client_report_settings", "Which sections a client's report prints.")
            .get("/clients/{id}/report-settings")
            .also(&[404])
            .id(|core, who, id| async move { core.client_report_settings(who.actor()?, id).await }),
        op("set_client_report_settings", "Switches sections of a client's report on or off.")
            .put("/clients/{id}/report-settings")
            .writer()
            .also(&[404])
            .id_body(|core, who, id, req: SetClientReportSettings| async move {
                core.set_client_report_settings(who.actor()?, id, &req).await
            }),
        op("report_schedule", "A client's report schedule: the day each month, the recipients.")
            .get("/clients/{id}/report-schedule")
            .also(&[404])
            .id(|core, who, id| async move { core.report_schedule(who.actor()?, id).await }),
        op("set_report_schedule", "Sets a client's report schedule (server: the mail goes from its outbox).")
            .put("/clients/{id}/report-schedule")
            .writer()
            .also(&[404])
            .id_body(|core, who, id, req: SetReportSchedule| async move {
                core.set_report_schedule(who.actor()?, id, &req).await
            }),
        op("list_report_history", "A client's kept reports, newest period first.")
            .get("/clients/{id}/reports")
            .also(&[404])
            .id(|core, who, id| async move { core.list_report_history(who.actor()?, id).await }),
        op("report_history_download", "A kept report's PDF (base64); over HTTP: GET /reports/history/{id}.")
            .also(&[404])
            .id(|core, who, id| async move { core.report_history_download(who.actor()?, id).await }),
        op("billing_settings", "How billable time becomes money: rates, rounding, minimum (admins).")
            .get("/settings/billing")
            .admin()
            .run(|core, who| async move { core.billing_settings(who.actor()?).await }),
        op("set_billing_settings", "Sets the rates, rounding and minimum of the billing export (admins).")
            .put("/settings/billing")
            .admin()
            .body(|core, who, req: BillingSettings| async move {
                core.set_billing_settings(who.actor()?, &req).await
            }),
        op("billing_export_download", "The billing export (base64 CSV); over HTTP: GET /billing/export.")
            .admin()
            .also(&[404])
            .query(|core, who, q: BillingExportQuery| async move {
                core.billing_export_download(who.actor()?, &q).await
            }),
        op("report_branding", "The MSP's name and logo printed on reports.")
            .get("/settings/reports")
            .run(|core, who| async move { core.report_branding(who.actor()?).await }),
        op("set_report_branding", "Sets the MSP's name and logo printed on reports (admins).")
            .put("/settings/reports")
            .admin()
            .also(&[503])
            .body(|core, who, req: SetReportBranding| async move {
                core.set_report_branding(who.actor()?, &req).await
            }),
        // ---- attachments (over HTTP the bytes travel as multipart and raw bodies: see
        // outpost-server's attachments module; the desktop app sends them as base64 here)
        op("list_attachments", "A ticket's files, oldest first.")
            .get("/tickets/{id}/attachments")
            .id(|core, who, id| async move { core.list_attachments(who.actor()?, id).await }),
        op("upload_attachment", "Attaches a file (base64) to a ticket or one of its comments.")
            .writer()
            .desktop_write()
            .created()
            .body(|core, who, req: NewAttachment| async move {
                let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, req.data_base64.trim())
                    .map_err(|e| crate::error::invalid(format!("data_base64 is not base64: {e}")))?;
                core.add_attachment(who.actor()?, req.ticket_id, req.comment_id, &req.file_name, &bytes)
                    .await
            }),
        op("attachment_content", "A file with its bytes (base64); fetched from the server on first open.")
            .id(|core, who, id| async move {
                let (attachment, bytes) = core.attachment_content(who.actor()?, id).await?;
                Ok(AttachmentContent {
                    attachment,
                    data_base64: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes),
                })
            }),
        op("attachment_settings", "How large a file may be attached (admins).")
            .get("/settings/attachments")
            .admin()
            .run(|core, who| async move { core.attachment_settings(who.actor()?).await }),
        op("set_attachment_settings", "Sets how large a file may be attached (admins).")
            .put("/settings/attachments")
            .admin()
            .body(|core, who, req: AttachmentSettings| async move {
                core.set_attachment_settings(who.actor()?, req).await
            }),
        // ---- webhooks (the server sends them)
        op("list_webhooks", "Webhook subscriptions with their delivery counts (admins).")
            .get("/webhooks")
            .server()
            .admin()
            .run(|core, who| async move { core.list_webhooks(who.actor()?).await }),
        op("create_webhook", "Subscribes a URL to events; the signing secret is shown once (admins).")
            .post("/webhooks")
            .server()
            .admin()
            .created()
            .also(&[409])
            .body(|core, who, req: NewWebhook| async move { core.create_webhook(who.actor()?, req).await }),
        op("delete_webhook", "Removes a subscription and what it still had to send (admins).")
            .delete("/webhooks/{id}")
            .server()
            .admin()
            .no_content()
            .id(|core, who, id| async move { core.delete_webhook(who.actor()?, id).await }),
        op("list_dead_letters", "Deliveries that failed every try, with the last answer seen (admins).")
            .get("/webhooks/dead-letters")
            .server()
            .admin()
            .run(|core, who| async move { core.list_dead_letters(who.actor()?).await }),
        op("replay_dead_letter", "Sends a dead delivery again, after what is queued (admins).")
            .post("/webhooks/dead-letters/{id}/replay")
            .server()
            .admin()
            .no_content()
            .also(&[409])
            .id(|core, who, id| async move { core.replay_dead_letter(who.actor()?, id).await }),
        // ---- sync
        op("sync_push", "Takes a batch of a console's changes.")
            .post("/sync/push")
            .server()
            .writer()
            .also(&[409])
            .body(|core, who, req: PushRequest| async move { core.accept_push(who.actor()?, req).await }),
        op("sync_pull", "A page of the change log.")
            .get("/sync/pull")
            .server()
            .query(|core, who, q: PullQuery| async move { core.pull_for(who.actor()?, &q).await }),
        op("sync_status", "Where this store stands with its server.")
            .get("/sync/status")
            .run(|core, _| async move { core.sync_status().await }),
        op("sync_checksums", "A digest per record type, to compare stores.")
            .get("/sync/checksums")
            .server()
            .query(|core, who, q: ChecksumQuery| async move {
                core.checksums_for(who.actor()?, q.sync.unwrap_or(1)).await
            }),
        op("sync_snapshot", "A page of the current records of one type (a console's first sync).")
            .get("/sync/snapshot")
            .server()
            .query(|core, who, q: SnapshotQuery| async move {
                core.snapshot(who.actor()?, &q.entity, q.after, q.limit).await
            }),
        op("resolve_conflict", "Marks a sync conflict as dealt with.")
            .post("/conflicts/{id}/resolve")
            .writer()
            .no_content()
            .id(|core, who, id| async move { core.resolve_conflict(who.actor()?, id).await }),
        // ---- the desktop app's own (no route; the web console refuses them)
        op("connect_preview", "What connecting this console to a server would upload.")
            .run(|core, _| async move { core.connect_preview().await }),
        op("server_fingerprint", "The certificate an https server presents, to compare before trusting it.")
            .admin()
            .desktop::<ServerAddress, String>(Shape::Body),
        op("connect_server", "Connects this console to a server, uploads its data and syncs.")
            .admin()
            .desktop::<ConnectRequest, Session>(Shape::Body),
        op("disconnect_server", "Back to standalone; the data stays here.")
            .admin()
            .desktop::<(), SyncStatus>(Shape::Nothing),
        op("desktop_gateway", "Whether this console serves its own agents, and where.")
            .desktop::<(), DesktopGateway>(Shape::Nothing),
        op("set_desktop_gateway", "Turns this console's agent gateway on or off (admins).")
            .admin()
            .desktop::<SetDesktopGateway, DesktopGateway>(Shape::Body),
        op("signing_status", "Whether this console can sign runs, and what to do if not.")
            .desktop::<(), SigningStatus>(Shape::Nothing),
        op("setup_signing", "Makes the organisation's root key (once) and this admin's signing key.")
            .admin()
            .desktop::<SetupSigning, SigningSetUp>(Shape::Body),
        op("request_signing_key", "Makes this technician's signing key here and asks an admin to certify it.")
            .writer()
            .desktop::<(), SigningStatus>(Shape::Nothing),
        op("certify_request", "Certifies a technician's key with the root in this console's keyring (admins).")
            .admin()
            .desktop::<CertifyRequest, TechnicianCertificate>(Shape::Body),
        op("revoke_certificate", "Revokes a technician's key with the root in this console's keyring (admins).")
            .admin()
            .desktop::<RevokeCertificate, RevocationState>(Shape::Body),
        op("approve_run_here", "Approves a run with this technician's key from the OS keyring.")
            .writer()
            .desktop::<ApproveRunHere, Run>(Shape::Body),
        op("sign_runs", "Signs a library script for each endpoint with this technician's key and sends the runs.")
            .writer()
            .desktop::<SignRuns, Vec<Run>>(Shape::Body),
        op("rotate_root", "Hands the organisation over to a new root made here, signed by the root in this keyring (admins).")
            .admin()
            .desktop::<SetupSigning, SigningSetUp>(Shape::Body),
        op("sign_automation", "Signs an automation's runs ahead with this technician's key and sends it.")
            .writer()
            .desktop::<SignAutomation, Automation>(Shape::Body),
        op("approve_automation_here", "Approves every run of an automation with this technician's key.")
            .writer()
            .desktop::<ApproveAutomationHere, Automation>(Shape::Body),
        op("sync_now", "One sync round now; a failure shows in the status.")
            .desktop::<(), SyncStatus>(Shape::Nothing),
    ]
}
