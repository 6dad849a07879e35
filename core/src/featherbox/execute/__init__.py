"""Step 4 of the data path: open the lake, run the planned actions, commit data and state together."""
