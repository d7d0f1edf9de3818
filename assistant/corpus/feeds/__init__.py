"""Followed feeds → article files in the upload folder.

- registry.py: the feed list, the entries seen and the articles written (SQLite under the index folder);
- parse.py: a feed's bytes → entries (feedparser);
- urls.py: canonical article addresses and the file names made from them;
- polite.py: per-host delay and robots.txt;
- extract.py: an article page → main text and metadata (trafilatura);
- articles.py: the folder of article files (write, retention, purge);
- poll.py: FeedPoller, which ties them together.
"""
