"""Entry point: `python app.py [--port P]` syncs the configured folders and serves the chat page."""

from assistant.ui.serve import main

if __name__ == "__main__":
    main()
