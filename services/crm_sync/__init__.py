"""Engine tasks in the CRMs' own task queues: one sync engine, one connector per CRM."""
