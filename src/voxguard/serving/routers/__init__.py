"""The service's endpoints, one router per area: ``web`` (the page), ``cm`` (``/detect``),
``speakers`` (enroll, verify, list, delete) and ``service`` (``/health``, ``/info``)."""
