"""The image build of Binks Functions: ``python3 envs/images/build.py`` (``make images``,
``make image-sizes``). Standard library only: it runs with the machine's python3."""
