"""The cluster mode's stores in PostgreSQL (psycopg 3, one connection pool per process), for processes
on several machines that share no files:

- database.py: the pool, the schema (created and migrated by the app), errors said in one line;
- records.py: article records, failures and sync state (the interface of store/records.py);
- lexical.py: the lexical index as BM25 over a postings table (the interface of store/lexical.py);
- locks.py: the writer's lock, a session advisory lock (released when its process dies).
"""
