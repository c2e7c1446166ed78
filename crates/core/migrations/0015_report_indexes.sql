-- The dashboard and the reports count tickets, time and alerts by when they happened; each
-- index covers its count, so a period of a busy desk reads no table rows.
CREATE INDEX tickets_created ON tickets(created_at, client_id, priority, first_response_at,
    resolved_at, fr_due, res_due, paused_since);
CREATE INDEX tickets_resolved ON tickets(resolved_at, client_id);
CREATE INDEX tickets_open_figures ON tickets(active, client_id, priority, status, created_at);
CREATE INDEX time_entries_started ON time_entries(started_at, ticket_id, technician_id, billable,
    minutes);
CREATE INDEX alerts_opened ON alerts(opened_at, asset_id);
