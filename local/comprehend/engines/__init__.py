"""Model engines of the local Comprehend service (scikit-learn based, no torch)."""
