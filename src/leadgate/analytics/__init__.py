"""Analytics: what the recorded history says about the playbook (backtests, rule feedback, funnels)."""
