"""The wheel, installed outside the checkout."""
