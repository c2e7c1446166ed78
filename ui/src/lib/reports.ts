// Client service reports as files: over HTTP the contract route
// (`GET /reports/clients/{id}?from&to&format=pdf|csv&table=`), in the desktop app the same
// bytes as base64 through the operation table (printed from the local store, offline too).

import { api } from './api';
import { inTauri } from './transport';
import { dispositionName, fetchBytes, fromBase64, saveAs } from './files';
import type { BillingExportQuery, ClientReportFileQuery, ReportSection, ReportTable } from './types';

export const SECTION_LABEL: Record<ReportSection, string> = {
  summary: 'Summary',
  tickets_per_day: 'Tickets per day',
  sla: 'Service levels and breaches',
  time: 'Time spent',
  endpoints: 'Endpoints',
  alerts: 'Alerts',
  scripts: 'Scripts run',
  appendix: 'Appendix: every ticket',
};

export const SECTIONS = Object.keys(SECTION_LABEL) as ReportSection[];

export const TABLE_LABEL: Record<ReportTable, string> = {
  tickets: 'Tickets',
  time: 'Time',
  endpoints: 'Endpoints',
  alerts: 'Alerts',
};

/** Downloads the report (PDF) or one of its tables (CSV) under the name the core gives. */
export async function downloadReport(clientId: string, q: ClientReportFileQuery): Promise<string> {
  if (inTauri) {
    const f = await api.clientReportDownload(clientId, q);
    const url = URL.createObjectURL(new Blob([fromBase64(f.data_base64)], { type: f.content_type }));
    saveAs(url, f.file_name);
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    return f.file_name;
  }
  const params = new URLSearchParams({ from: q.from, to: q.to });
  if (q.format) params.set('format', q.format);
  if (q.table) params.set('table', q.table);
  const res = await fetchBytes(`/reports/clients/${encodeURIComponent(clientId)}?${params}`);
  const name = dispositionName(res, q.format === 'csv' ? 'report.csv' : 'report.pdf');
  const url = URL.createObjectURL(await res.blob());
  saveAs(url, name);
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}

const pad = (n: number) => String(n).padStart(2, '0');
export const dayText = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

/** The calendar month before `today`'s: what a monthly report covers by default. */
export function previousMonth(today = new Date()): { from: string; to: string } {
  const first = new Date(today.getFullYear(), today.getMonth() - 1, 1);
  const last = new Date(today.getFullYear(), today.getMonth(), 0);
  return { from: dayText(first), to: dayText(last) };
}

/** The last 12 whole months, newest first, for the month picker. */
export function recentMonths(today = new Date()): { label: string; from: string; to: string }[] {
  const out = [];
  for (let i = 1; i <= 12; i++) {
    const first = new Date(today.getFullYear(), today.getMonth() - i, 1);
    const last = new Date(today.getFullYear(), today.getMonth() - i + 1, 0);
    out.push({
      label: first.toLocaleDateString(undefined, { month: 'long', year: 'numeric' }),
      from: dayText(first),
      to: dayText(last),
    });
  }
  return out;
}

/** Downloads the billing export (CSV) for a period, every client or one (admins). */
export async function downloadBilling(q: BillingExportQuery): Promise<string> {
  if (inTauri) {
    const f = await api.billingExportDownload(q);
    const url = URL.createObjectURL(new Blob([fromBase64(f.data_base64)], { type: f.content_type }));
    saveAs(url, f.file_name);
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    return f.file_name;
  }
  const params = new URLSearchParams({ from: q.from, to: q.to });
  if (q.client_id) params.set('client_id', q.client_id);
  const res = await fetchBytes(`/billing/export?${params}`);
  const name = dispositionName(res, 'billing.csv');
  const url = URL.createObjectURL(await res.blob());
  saveAs(url, name);
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}
