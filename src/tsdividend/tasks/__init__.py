"""Downstream protocols: classification, anomaly detection, forecasting, clustering, baselines."""
