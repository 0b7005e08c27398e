"""The agent desktop and the supervisor wallboard: their pages and the data they show."""
