"""Billing service: invoices from won opportunities, numbering, status flow, PDFs, receivables."""
