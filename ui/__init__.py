"""Streamlit-side helpers shared by the pages: data access, language, filters, downloads.

The heavy libraries the pages and Streamlit's own elements use are imported here, once, by the first session
that imports `ui`: every other session's `from ui import ...` waits until they are whole. Imported lazily by
many sessions' threads at once, pandas was seen half-initialised ("partially initialized module 'pandas'").
"""

import pandas  # noqa: F401 - st.dataframe and AppTest convert through it
import plotly.express  # noqa: F401
import plotly.graph_objects  # noqa: F401
import pyarrow  # noqa: F401 - every table goes to the browser as Arrow
