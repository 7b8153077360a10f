image_tag = "1.4.2"
zones     = ["a", "b", "c"]
labels = {
  TEAM = "shop"
  TIER = "api"
}
