"""Receipts and messages in the payer's language.

Entry points (import them from their modules; this package imports nothing eagerly so
that ``import i18n`` stays cheap and fpdf2 loads only when a PDF is asked for):

* :func:`i18n.locales.negotiate` - ``locale=`` / ``Accept-Language`` to a supported locale.
* :func:`i18n.receipts.render_receipt` - a :class:`i18n.receipt_data.ReceiptData` as
  txt, HTML or PDF bytes.
* :func:`i18n.receipt_email.build_receipt_message` and :func:`i18n.receipt_email.send`.
* :func:`i18n.declines.decline_message` - a decline code's message in a locale.
* :mod:`i18n.formatting` - money, numbers, dates, country and currency names (CLDR).

Catalogs live in ``i18n/locale`` (see :mod:`i18n.catalogs` for the pybabel workflow).
"""
