"""The connectors of the CRMs enabled by the settings: adding a CRM is one line here."""

from __future__ import annotations

from services.crm_sync.connector import Connector
from services.crm_sync.hubspot import HubSpotConnector
from services.crm_sync.salesforce.connector import SalesforceConnector
from shared.config import Settings

CONNECTORS = (HubSpotConnector, SalesforceConnector)
"""Every CRM connector class; each builds itself from the settings, or is off (None)."""


def build_connectors(settings: Settings) -> list[Connector]:
    """One connector per enabled CRM (none when no CRM is configured)."""
    built = (cls.from_settings(settings) for cls in CONNECTORS)
    return [connector for connector in built if connector is not None]


async def close_connectors(connectors: list[Connector]) -> None:
    """Closes their HTTP clients."""
    for connector in connectors:
        await connector.aclose()
