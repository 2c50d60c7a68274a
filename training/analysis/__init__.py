"""The paper's analyses (Sec. 5) of what a trained checkpoint has learned."""
