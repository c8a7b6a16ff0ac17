"""Thai official letters typeset as PDF: shaping, line breaking, text layer, layout."""

from reportlab import rl_config

# Binary (Flate) streams, not ASCII85 on top: a quarter smaller and faster to write.
rl_config.useA85 = 0
