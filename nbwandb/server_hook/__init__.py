"""What runs in the Jupyter *server*, not in the kernel: the save hook that keeps nbwandb's
panels as HTML in saved notebooks (``save_hook``), and how a kernel finds out whether its
server has it (``presence``)."""
