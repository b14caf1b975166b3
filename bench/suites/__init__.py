"""One module per suite; each has ``run(ctx) -> SuiteResult``."""
