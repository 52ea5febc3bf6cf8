"""The supervision service's HTTP side (issue 18): the tenant's page and its query code."""
