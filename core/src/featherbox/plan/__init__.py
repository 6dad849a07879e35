"""Step 3 of the data path: compare the project and its sources with what was built, and say why."""
