"""The one kit for every bilingual document the vault gives people outside it (the audit
report, the export's chain-of-custody report, the destruction register, the compliance report):

fonts     where the CJK-capable font is, and registering it with reportlab (embedded, subset)
layout    paragraph styles, grids and key-value tables, and building the PDF
signing   PAdES signatures with pyHanko, one incremental signature at a time
"""
