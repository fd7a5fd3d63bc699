"""Quality: the four criteria (đúng - đủ - sạch - sống) as GX checkpoints, asset checks and a scorecard."""
