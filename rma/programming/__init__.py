"""Programming: firmware registry, unit reflash, IC batch jobs, programming ledger (so far: the simulator command)."""
