"""Small scenario files shared by the command-line tests (``pythonpath = ["tests"]``)."""

GOOD = """\
name = "Deposit refund across the National Day holiday"

[[contracts]]
id = "C1"
tenant = "T1"
enterprise = "E1"
start = 2025-06-01
end = 2026-05-31
monthly_rent = "5000.00"
deposit = "5000.00"

[[actions]]
date = 2025-06-03
action = "pay_deposit"
contract = "C1"
amount = "5000.00"

[[actions]]
date = 2025-09-30
action = "return_home"
contract = "C1"
"""
"""One contract, its deposit paid on 06-03 and the home returned on 09-30 (before the National
Day holiday): a well-formed file for the commands that read or run one."""
