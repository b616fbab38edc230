"""Salesforce: engine tasks as `Task` records through the REST API."""
