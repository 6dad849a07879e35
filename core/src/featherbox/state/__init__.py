"""Step 5 of the data path: what was built from what (in the lake, committed with the data) and run history."""
