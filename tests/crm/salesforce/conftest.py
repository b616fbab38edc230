from tests.crm.fakes.salesforce import fake_salesforce  # noqa: F401
