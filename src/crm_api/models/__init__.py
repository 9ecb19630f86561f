"""Every ORM table. Importing this package registers them all on ``Base.metadata``."""

from crm_api.models.activity import INTERACTION_KINDS, Interaction, Task
from crm_api.models.base import Base
from crm_api.models.commerce import (
    ORDER_STATUSES,
    RFM_SEGMENTS,
    ContactRfm,
    Order,
    OrderLine,
    Product,
)
from crm_api.models.company import Company
from crm_api.models.contact import (
    LIFECYCLE_STAGES,
    Contact,
    LeadScoringRule,
    LifecycleChange,
    Segment,
)
from crm_api.models.custom_field import CustomFieldDefinition
from crm_api.models.event import Event, IdempotencyKey
from crm_api.models.pipeline import (
    STAGE_KINDS,
    Deal,
    DealContact,
    DealStageChange,
    Pipeline,
    PipelineStage,
)
from crm_api.models.rollup import order_days, sentiment_days, survey_days, ticket_days
from crm_api.models.ticket import (
    SlaPolicy,
    SurveyResponse,
    Ticket,
    TicketMessage,
    TicketStatusChange,
)
from crm_api.models.webhook import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from crm_api.models.workspace import MEMBER_ROLES, ApiKey, Member, Workspace

# Constraint name -> the request field it guards, so a violation names the field at fault.
CONSTRAINT_FIELDS = {
    "uq_contacts_email": "email",
    "fk_contacts_company": "company_id",
    "fk_contacts_owner": "owner_id",
    "ck_contacts_lifecycle_stage": "lifecycle_stage",
    "uq_companies_domain": "domain",
    "uq_members_email": "email",
    "ck_members_role": "role",
    "uq_custom_field_definitions_key": "key",
    "uq_pipelines_name": "name",
    "uq_pipeline_stages_name": "name",
    "fk_deals_stage": "stage_id",
    "fk_deals_owner": "owner_id",
    "fk_deals_company": "company_id",
    "fk_deal_contacts_contact": "contact_id",
    "fk_interactions_contact": "contact_id",
    "fk_interactions_member": "member_id",
    "fk_interactions_company": "company_id",
    "fk_interactions_deal": "deal_id",
    "fk_tasks_contact": "contact_id",
    "fk_tasks_assignee": "assignee_id",
    "fk_tasks_company": "company_id",
    "fk_tasks_deal": "deal_id",
    "fk_tickets_requester": "requester_id",
    "fk_tickets_company": "company_id",
    "fk_tickets_assignee": "assignee_id",
    "fk_ticket_messages_author": "author_member_id",
    "fk_tickets_sla_policy": "sla_policy_id",
    "fk_interactions_ticket": "ticket_id",
    "fk_tasks_ticket": "ticket_id",
    "uq_sla_policies_name": "name",
    "uq_sla_policies_default": "is_default",
    "fk_survey_responses_contact": "contact_id",
    "fk_survey_responses_ticket": "ticket_id",
    "uq_survey_responses_csat": "ticket_id",
    "uq_products_sku": "sku",
    "uq_segments_name": "name",
    "fk_orders_contact": "contact_id",
    "fk_orders_company": "company_id",
    "fk_order_lines_product": "product_id",
}

__all__ = [
    "CONSTRAINT_FIELDS",
    "INTERACTION_KINDS",
    "LIFECYCLE_STAGES",
    "MEMBER_ROLES",
    "ORDER_STATUSES",
    "RFM_SEGMENTS",
    "STAGE_KINDS",
    "ApiKey",
    "Base",
    "Company",
    "Contact",
    "ContactRfm",
    "CustomFieldDefinition",
    "Deal",
    "DealContact",
    "DealStageChange",
    "Event",
    "IdempotencyKey",
    "Interaction",
    "LeadScoringRule",
    "LifecycleChange",
    "Member",
    "Order",
    "OrderLine",
    "Pipeline",
    "PipelineStage",
    "Product",
    "Segment",
    "SlaPolicy",
    "SurveyResponse",
    "Task",
    "Ticket",
    "TicketMessage",
    "TicketStatusChange",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "Workspace",
    "order_days",
    "sentiment_days",
    "survey_days",
    "ticket_days",
]
