// A frontend team's first client, typed from the committed OpenAPI document: it must compile
// with the calls a person writes first (only the fields they care about, server defaults left
// out), so that the document, not this file, is what CI checks.
import createClient from "openapi-fetch";

import type { components, paths } from "./generated/crm-api";

type Contact = components["schemas"]["ContactRead"];
type Deal = components["schemas"]["DealRead"];
type Ticket = components["schemas"]["TicketRead"];
type Kpi = components["schemas"]["KpiResult"];
type ContactQuery = NonNullable<paths["/v1/contacts"]["get"]["parameters"]["query"]>;

const crm = createClient<paths>({
  baseUrl: "http://127.0.0.1:8000",
  headers: { Authorization: "Bearer crm_..." },
});

export async function createContact(): Promise<Contact> {
  // A name and an email: everything else has a server default.
  const { data, error } = await crm.POST("/v1/contacts", {
    body: { first_name: "Ada", last_name: "Lovelace", email: "ada@example.com" },
  });
  if (error) throw new Error(`${error.title}: ${error.detail ?? ""}`);
  return data;
}

export async function everyContact(): Promise<Contact[]> {
  const contacts: Contact[] = [];
  let cursor: string | null | undefined = undefined;
  do {
    const query: ContactQuery = { limit: 100, sort: "-created_at", cursor };
    const { data, error } = await crm.GET("/v1/contacts", { params: { query } });
    if (error) throw new Error(error.title);
    contacts.push(...data.data);
    cursor = data.next_cursor;
  } while (cursor);
  return contacts;
}

export async function openDeal(contact: Contact): Promise<Deal> {
  const { data, error } = await crm.POST("/v1/deals", {
    body: {
      name: "Annual plan",
      amount: { amount: "12000.00", currency: "EUR" },
      contacts: [{ contact_id: contact.id }],
    },
  });
  if (error) throw new Error(error.title);
  return data;
}

export async function moveDeal(deal: Deal, stageId: string, etag: string): Promise<Deal> {
  const { data, error } = await crm.PATCH("/v1/deals/{deal_id}", {
    params: { path: { deal_id: deal.id }, header: { "If-Match": etag } },
    body: { stage_id: stageId },
  });
  if (error) throw new Error(error.title);
  return data;
}

export async function openDeals(): Promise<Deal[]> {
  const { data, error } = await crm.GET("/v1/deals", { params: { query: { limit: 25 } } });
  if (error) throw new Error(error.title);
  return data.data;
}

export async function openTicket(contact: Contact): Promise<Ticket> {
  // A subject and who asked: priority and channel have server defaults.
  const { data, error } = await crm.POST("/v1/tickets", {
    body: { subject: "Cannot sign in", requester_id: contact.id },
  });
  if (error) throw new Error(error.title);
  return data;
}

export async function tickets(): Promise<Ticket[]> {
  const { data, error } = await crm.GET("/v1/tickets", {});
  if (error) throw new Error(error.title);
  return data.data;
}

export async function winRate(): Promise<Kpi> {
  const { data, error } = await crm.GET("/v1/kpis/sales/win-rate", {
    params: { query: { start: "2026-01-01T00:00:00Z", end: "2026-12-31T23:59:59Z" } },
  });
  if (error) throw new Error(error.title);
  return data;
}

export async function firstRun(): Promise<string> {
  const contact = await createContact();
  const deal = await openDeal(contact);
  const ticket = await openTicket(contact);
  const kpi = await winRate();
  const all = await everyContact();
  const deals = await openDeals();
  const open = await tickets();
  return [
    `${all.length} contacts, ${deals.length} deals, ${open.length} tickets`,
    `deal ${deal.id} in stage ${deal.stage_id}; ticket ${ticket.id} is ${ticket.status}`,
    `win rate ${kpi.value ?? "no data"} (${kpi.unit})`,
  ].join("\n");
}
