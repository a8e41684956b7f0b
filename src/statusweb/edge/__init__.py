"""What every request passes before a view: the page it is for, limits, CORS, the page cache."""
