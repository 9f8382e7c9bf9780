class CartTest {}
