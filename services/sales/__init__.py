"""Sales service: campaigns, leads and their conversion, products, opportunities, reports."""
