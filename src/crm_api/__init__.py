"""crm-api: an async, API-first CRM backend on PostgreSQL."""
