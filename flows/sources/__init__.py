"""Sources of the dataflow: one module per source, each yielding ``RawRecord`` items."""
