"""Step 1 of the data path: read and validate project.yml, adapters/*.yml and models/**/*.yml."""
