# placeholder, being written
file(WRITE ${OUT} "/* embedded templates */\nint rkc_templates_placeholder;\n")
