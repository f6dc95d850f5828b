"""Review sessions: agenda, live page, votes, comments, outcomes and minutes."""
