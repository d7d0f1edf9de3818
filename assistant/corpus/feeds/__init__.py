"""Followed feeds → article files in the upload folder.

- registry.py: the feed list, the entries seen and the articles written (FeedList; SQLite under the index
  folder, or PostgreSQL in cluster mode: store/postgres/feeds.py);
- parse.py: a feed's bytes → entries (feedparser);
- urls.py: canonical article addresses and the file names made from them;
- polite.py: per-host delay and robots.txt;
- extract.py: an article page → main text and metadata (trafilatura);
- articles.py: where articles are written (ArticleSink: a folder of files, or documents in cluster mode;
  retention, purge);
- poll.py: FeedPoller, which ties them together (its locks: files, or advisory locks in cluster mode).
"""
