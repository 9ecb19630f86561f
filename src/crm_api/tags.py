"""The document's tags, in the order a reader meets the API, each with what it is for."""

TAGS: list[dict[str, str]] = [
    {
        "name": "Workspace",
        "description": "The workspace itself: its name, default currency, "
        "escalation threshold and the portal's settings (allowed origins, company sharing).",
    },
    {
        "name": "API keys",
        "description": "Keys with scopes for staff, integrations and partners. "
        "A key's secret is shown once, at creation; `DELETE` revokes it.",
    },
    {
        "name": "Members",
        "description": "The people of the company who own records, are "
        "assigned tasks and tickets, and answer customers.",
    },
    {
        "name": "Custom fields",
        "description": "Typed fields of your own on contacts, companies, "
        "deals and tickets (text, number, date, boolean, enum), filterable in lists.",
    },
    {
        "name": "Contacts",
        "description": "People: prospects and customers, with lifecycle stage, "
        "owner, company, lead score, tags and custom fields. Archived before a purge; upserted "
        "by email.",
    },
    {
        "name": "Companies",
        "description": "Organisations your contacts belong to; upsert by "
        "domain. A company's timeline includes its people's activity.",
    },
    {
        "name": "Pipelines",
        "description": "Sales pipelines and their ordered stages (open, won, "
        "lost), with win probabilities.",
    },
    {
        "name": "Deals",
        "description": "Opportunities moving through a pipeline's stages, with "
        "amount, currency, contacts and stage history; `deal.won` / `deal.lost` events.",
    },
    {
        "name": "Interactions",
        "description": "Calls, emails, meetings, chats and notes on a "
        "contact, with kind, direction and sentiment.",
    },
    {
        "name": "Tasks",
        "description": "Follow-ups with an assignee and a due date, linked to a "
        "contact, company, deal or ticket.",
    },
    {
        "name": "Tickets",
        "description": "Support requests: status workflow, priority, channel, "
        "public and internal messages, SLA targets and breaches.",
    },
    {
        "name": "SLA policies",
        "description": "First-response and resolution targets per "
        "priority, in business hours with holidays.",
    },
    {"name": "Survey responses", "description": "CSAT on solved tickets and NPS from customers."},
    {"name": "Products", "description": "The catalog: unique SKUs, prices, active or not."},
    {
        "name": "Orders",
        "description": "Purchases of catalog products by contacts, the source of "
        "lifetime value, repeat purchase and RFM.",
    },
    {
        "name": "Segments",
        "description": "Saved contact filters in the lists' filter language, "
        "counted and listed live.",
    },
    {
        "name": "Lead scoring",
        "description": "Rules that give contacts points for an attribute (a field's value) "
        "or for recent interactions of a kind; the total is kept on each contact.",
    },
    {
        "name": "KPIs",
        "description": "Sales, customer and service measures computed in SQL over "
        "a period, per currency where money is involved, with optional series.",
    },
    {
        "name": "RFM",
        "description": "Recency, frequency and monetary scores per customer, and "
        "the named segments they fall in.",
    },
    {
        "name": "Timeline",
        "description": "Everything that happened with a contact or a company, newest first.",
    },
    {
        "name": "Consent",
        "description": "Each contact's consent per purpose, with when and how "
        "it was given or withdrawn.",
    },
    {
        "name": "Privacy",
        "description": "A person's data export (right of access) and erasure "
        "(right to be forgotten).",
    },
    {"name": "Data hygiene", "description": "Likely duplicates and merging them."},
    {
        "name": "Imports",
        "description": "CSV or JSON Lines files of contacts, companies or deals, "
        "loaded in the background with per-row errors.",
    },
    {
        "name": "Events",
        "description": "The event log of every change, in commit order, for "
        "polling with a cursor that never skips.",
    },
    {
        "name": "Webhooks",
        "description": "Endpoints that receive events as signed Standard "
        "Webhooks, with deliveries, retries and replays.",
    },
    {"name": "Audit log", "description": "Who changed what and when, with old and new values."},
    {
        "name": "Portal users",
        "description": "Staff's view of customers' portal accounts: invite, list, disable.",
    },
    {
        "name": "Portal sign-in",
        "description": "How a customer signs in to the portal: "
        "invitation, password, magic link, refresh and sign-out.",
    },
    {
        "name": "Portal",
        "description": "What a signed-in customer may do: their profile, "
        "consents, tickets, orders and data export. Takes a portal access token, not an API key.",
    },
    {"name": "Operations", "description": "Liveness, readiness and Prometheus metrics."},
]
