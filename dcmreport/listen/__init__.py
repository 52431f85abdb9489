"""What ``dcmreport listen`` does with a report: decide its answer, keep it, run --exec."""
