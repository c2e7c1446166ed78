-- Time entries name their ticket by id; counting minutes per client looks up each ticket's
-- client in this index alone (not the table row).
CREATE INDEX tickets_id_client ON tickets(id, client_id);
