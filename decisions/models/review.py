"""Review sessions: agenda, votes, comments, presence (filled in by the review work)."""

__all__: list[str] = []
