print("atmo")
